"""Training and predicting on real-world shapes, below the API (issue 13): a date as the only
feature, targets no classifier can learn, categories never seen in training, and batch
answers in the upload's own CSV dialect."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from webapp.db import get_session
from webapp.errors import ValidationFailed
from webapp.models import ModelVersion, Run, User
from webapp.services import datasets as dataset_service
from webapp.services import predictions, training
from webapp.services import runs as run_service
from webapp.services.csv_parsing import parse_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


@pytest.fixture
def ctx(app, auth):
    auth.create("alice")
    with app.app_context():
        session = get_session()
        yield session, session.scalars(select(User)).one()


def dataset_of(ctx, filename: str, content: bytes | None = None):
    session, user = ctx
    content = (FIXTURES / filename).read_bytes() if content is None else content
    return dataset_service.create_dataset(
        session=session, user=user, filename=filename, content=content
    )


def trained(ctx, filename: str, content: bytes | None = None, **settings) -> ModelVersion:
    session, user = ctx
    dataset = dataset_of(ctx, filename, content)
    run = run_service.create_run(
        session=session,
        user=user,
        settings=run_service.RunSettings(dataset_id=dataset.id, **settings),
        submit=lambda run: None,
    )
    assert training.execute_run(session=session, run_id=run.id, worker="test") == "succeeded", (
        session.get(Run, run.id).error
    )
    return session.scalars(select(ModelVersion).where(ModelVersion.run_id == run.id)).one()


# -- a date as the only feature (item 3) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "column", "target", "new"),
    [
        ("monthly_sales.csv", "month", "sales", "2020-03"),
        ("quarterly_gdp.csv", "quarter", "gdp", "1986Q2"),
    ],
)
@pytest.mark.parametrize("algorithm", ["decision_tree", "random_forest"])
def test_a_table_whose_only_feature_is_a_date_trains_and_predicts(
    ctx, filename, column, target, new, algorithm
):
    dataset = dataset_of(ctx, filename)
    profile = {c["name"]: c for c in dataset.profile["columns"]}
    assert profile[column]["kind"] == "datetime" and "identifier" not in profile[column]["reason"]
    params = {"n_estimators": 10} if algorithm == "random_forest" else None
    version = trained(ctx, filename, algorithm=algorithm, target=target, params=params)
    assert [c["name"] for c in version.input_schema] == [column]
    assert version.metrics["r2"] > 0.5  # trend and season are learned from the date parts
    result = predictions.predict_rows(
        session=ctx[0], version=version, rows=[{column: new}, {column: "2020-03-01"}]
    )
    assert result.errors == [None, None] and all(isinstance(p, float) for p in result.predictions)


def test_every_date_and_period_column_is_profiled_as_dates(ctx):
    columns = dataset_of(ctx, "dates_periods.csv").profile["columns"]
    kinds = {c["name"]: (c["kind"], c["reason"]) for c in columns}
    assert kinds["sold_on"] == ("datetime", "dates in format Mon-DD-YYYY")
    assert kinds["listed"] == ("datetime", "dates in format Mon DD YYYY")
    assert kinds["quarter"] == ("datetime", "dates in format YYYY-Qn")
    assert kinds["month"] == ("datetime", "dates in format YYYY-MM")
    assert kinds["week"] == ("datetime", "dates in format YYYY-Www")
    quarter = next(c for c in columns if c["name"] == "quarter")
    assert (quarter["min"], quarter["max"]) == ("1974-01-01T00:00:00Z", "1983-10-01T00:00:00Z")


# -- targets (item 7) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "task", "words"),
    [
        ("name", None, "different value in every row"),
        ("comment", None, "free text"),
        ("fare", "classification", "Choose regression"),
    ],
)
def test_a_target_no_classifier_can_learn_is_refused_before_the_run_is_stored(
    ctx, target, task, words
):
    session, user = ctx
    dataset = dataset_of(ctx, "passengers.csv")
    settings = run_service.RunSettings(
        dataset_id=dataset.id, algorithm="decision_tree", target=target, task=task
    )
    with pytest.raises(ValidationFailed) as caught:
        run_service.create_run(session=session, user=user, settings=settings, submit=print)
    assert caught.value.details[0]["field"] == "target"
    assert words in caught.value.message and "y_true" not in caught.value.message
    assert session.scalar(select(func.count(Run.id))) == 0
    # The column that can be learned trains.
    assert trained(ctx, "passengers.csv", algorithm="decision_tree", target="survived")


# -- categories never seen in training (item 6) --------------------------------------------------


@pytest.fixture
def flights(ctx) -> ModelVersion:
    return trained(ctx, "flights_train.csv", algorithm="random_forest", target="delayed",
                   params={"n_estimators": 10})  # fmt: skip


def test_unseen_categories_are_predicted_with_a_warning(ctx, flights):
    schema = {c["name"]: c for c in flights.input_schema}
    assert schema["tailnum"]["kind"] == "categorical" and schema["origin"]["kind"] == "categorical"
    rows = pd.read_csv(FIXTURES / "flights_new.csv", dtype=str).to_dict("records")
    result = predictions.predict_rows(session=ctx[0], version=flights, rows=rows)
    assert [p is not None for p in result.predictions] == [True, True, True, False, True]
    assert result.errors[3] == {"distance": "'far' is not a number"}  # a wrong type: an error
    assert result.warnings[0] is None and result.warnings[4] is None
    assert result.warnings[1] == {
        "tailnum": "'N999ZZ' was not seen in training: predicted as one of the rare "
        "categories (other)"
    }
    assert set(result.warnings[2]) == {"origin", "tailnum"}
    assert "'BUR' was not seen in training" in result.warnings[2]["origin"]
    assert result.warnings[3] is None  # the row has an error: no answer, no caveat


def test_an_unseen_category_reads_as_a_rare_one(ctx, flights):
    saved = predictions.model_service.load(session=ctx[0], version=flights)
    rare = next(
        c for c in saved.preprocessor.columns_[2]["all_categories"]
        if c not in saved.preprocessor.columns_[2]["categories"]
    )  # fmt: skip
    row = {"origin": "ATL", "carrier": "DL", "distance": 760, "dep_hour": 18}
    X = saved.preprocessor.transform(pd.DataFrame([{**row, "tailnum": "N999ZZ"},
                                                   {**row, "tailnum": rare}]))  # fmt: skip
    assert (X[0] == X[1]).all()


# -- batch answers in the upload's dialect (item 8) ----------------------------------------------


@pytest.fixture
def ventes(ctx) -> ModelVersion:
    return trained(ctx, "ventes_train.csv", algorithm="decision_tree", target="Catégorie")


def test_a_batch_is_answered_in_the_uploads_dialect(ctx, ventes):
    content = (FIXTURES / "ventes_batch.csv").read_bytes()
    answer = predictions.predict_csv(session=ctx[0], version=ventes, content=content)
    assert answer.content_type == "text/csv; charset=windows-1252"
    written = answer.read()
    text = written.decode("cp1252")
    lines = text.split("\r\n")
    assert lines[-1] == "" and "\n" not in text.replace("\r\n", "")  # CRLF, as uploaded
    header = lines[0].split(";")
    assert header[:4] == ["Produit", "Région", "Prix (€)", "Quantité"]
    assert header[4:] == ["prediction", "probability_Boissons", "probability_Crèmerie",
                          "probability_Épicerie", "error", "warning"]  # fmt: skip
    first = lines[1].split(";")
    assert first[:4] == ["Thé vert", "Bretagne", "2,95", "12"] and first[4] == "Boissons"
    assert "," in first[5] or first[5] in ("0", "1")  # probabilities with a decimal comma
    assert lines[3].split(";")[4] == "" and "not a number" in lines[3]
    assert "'Île-de-France' was not seen in training" in lines[2]
    assert lines[4].split(";")[2] == "1.234,50"  # the cells come back as they were written
    # Read back, the answer is detected as written the way the upload was.
    again = parse_csv(written)
    upload = parse_csv(content)
    assert (again.options.encoding, again.options.delimiter, again.options.decimal) == (
        upload.options.encoding, upload.options.delimiter, upload.options.decimal
    )  # fmt: skip
    assert again.frame["Quantité"].tolist() == [12, 3, 5, 7]


def test_a_batch_can_be_answered_as_plain_utf8_csv(ctx, ventes):
    content = (FIXTURES / "ventes_batch.csv").read_bytes()
    answer = predictions.predict_csv(session=ctx[0], version=ventes, content=content,
                                     dialect="plain")  # fmt: skip
    assert answer.content_type == "text/csv; charset=utf-8"
    text = answer.read().decode("utf-8")
    assert "\r" not in text and text.startswith("Produit,Région,Prix (€),Quantité,prediction")
    assert "\nThé vert,Bretagne,2.95,12,Boissons," in text
    with pytest.raises(ValidationFailed) as caught:
        predictions.predict_csv(session=ctx[0], version=ventes, content=content, dialect="xml")
    assert caught.value.details[0]["field"] == "dialect"


def test_whitespace_and_bom_uploads_keep_their_dialect(ctx, ventes):
    rows = ["Produit Région 'Prix (€)' Quantité", "'Thé vert' Bretagne 2.95 12",
            "Pâté Alsace 13.4 3"]  # fmt: skip
    content = codecs.BOM_UTF8 + "\n".join(rows).encode("utf-8")
    answer = predictions.predict_csv(session=ctx[0], version=ventes, content=content)
    written = answer.read()
    assert written.startswith(codecs.BOM_UTF8)
    assert answer.content_type == "text/csv; charset=utf-8"
    lines = written.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Produit Région 'Prix (€)' Quantité prediction")
    assert lines[1].startswith("'Thé vert' Bretagne 2.95 12 Boissons ")


def test_labels_the_uploads_encoding_cannot_write_come_back_as_utf8_with_a_bom(ctx):
    rows = [f"{i % 7},{'ab'[i % 2]},{['άλφα', 'βήτα'][i % 2]}" for i in range(30)]
    content = ("x,group,label\n" + "\n".join(rows) + "\n").encode("utf-8")
    version = trained(ctx, "greek.csv", content=content, algorithm="decision_tree",
                      target="label")  # fmt: skip
    batch = "x;group;note\r\n1,5;a;café\r\n2,5;b;thé\r\n".encode("cp1252")
    answer = predictions.predict_csv(session=ctx[0], version=version, content=batch)
    written = answer.read()
    assert answer.encoding == "utf-8-sig" and written.startswith(codecs.BOM_UTF8)
    assert answer.content_type == "text/csv; charset=utf-8"
    text = written.decode("utf-8-sig")
    assert text.startswith("x;group;note;prediction;probability_άλφα")
    assert "\r\n1,5;a;café;" in text


# -- large batches, streamed a chunk at a time (issue 11, item 8) -------------------------------


def _ventes_rows(n: int) -> list[str]:
    products = ["Thé vert;Bretagne;2,95;12", "Pâté;Alsace;13,40;3", "Bière blonde;Provence;3,10;"]
    return [products[i % 3] for i in range(n)]


def test_a_batch_larger_than_a_chunk_is_streamed_with_every_row_in_order(ctx, ventes, monkeypatch):
    lines = _ventes_rows(10)
    lines[7] = "Pâté;Alsace;cher;3"  # a bad value in a later chunk: that row's error
    lines[8] = "Thé vert;Corse;2,95;12"  # an unseen category in a later chunk: a warning
    content = ("Produit;Région;Prix (€);Quantité\r\n" + "\r\n".join(lines) + "\r\n").encode(
        "cp1252"
    )
    whole = predictions.predict_csv(session=ctx[0], version=ventes, content=content).read()
    monkeypatch.setattr(predictions, "CHUNK_ROWS", 3)
    answer = predictions.predict_csv(session=ctx[0], version=ventes, content=content)
    chunks = list(answer)
    assert len(chunks) == 4  # 3 + 3 + 3 + 1 rows, the header with the first
    assert b"".join(chunks) == whole  # the same file as in one piece
    out = pd.read_csv(io.BytesIO(whole), sep=";", encoding="cp1252", keep_default_na=False)
    assert out["prediction"][7] == "" and out["error"][7] == "Prix (€): 'cher' is not a number"
    assert "'Corse' was not seen in training" in out["warning"][8]
    summary = answer.summary
    assert (summary.rows, summary.predicted, summary.with_errors, summary.with_warnings) == (
        10, 9, 1, 1
    )  # fmt: skip
    assert sum(summary.counts.values()) == 9


def test_a_streamed_batch_always_has_the_error_and_warning_columns(ctx, ventes, monkeypatch):
    content = ("Produit;Région;Prix (€);Quantité\n" + "\n".join(_ventes_rows(7))).encode("utf-8")
    alone = predictions.predict_csv(session=ctx[0], version=ventes, content=content).read()
    assert alone.decode().splitlines()[0].split(";")[-1] == "probability_Épicerie"
    monkeypatch.setattr(predictions, "CHUNK_ROWS", 3)
    streamed = predictions.predict_csv(session=ctx[0], version=ventes, content=content).read()
    header = streamed.decode().splitlines()[0].split(";")
    assert header[-2:] == ["error", "warning"]  # sent before the last rows were read


def test_plain_numbers_read_the_same_in_every_chunk(ctx, ventes, monkeypatch):
    # "Quantité" is empty in every third row: a chunk with one is float, one without is int.
    content = ("Produit;Région;Prix (€);Quantité\n" + "\n".join(_ventes_rows(8))).encode("utf-8")
    monkeypatch.setattr(predictions, "CHUNK_ROWS", 2)
    text = predictions.predict_csv(session=ctx[0], version=ventes, content=content,
                                   dialect="plain").read().decode()  # fmt: skip
    quantities = [line.split(",")[3] for line in text.splitlines()[1:]]
    assert quantities == ["12", "3", "", "12", "3", "", "12", "3"]


def test_a_bom_is_written_once_however_many_chunks(ctx, ventes, monkeypatch):
    content = codecs.BOM_UTF8 + (
        "Produit;Région;Prix (€);Quantité\n" + "\n".join(_ventes_rows(7))
    ).encode("utf-8")
    monkeypatch.setattr(predictions, "CHUNK_ROWS", 2)
    written = predictions.predict_csv(session=ctx[0], version=ventes, content=content).read()
    assert written.startswith(codecs.BOM_UTF8) and written.count(codecs.BOM_UTF8) == 1


@pytest.mark.parametrize(
    ("n_rows", "bad_row", "words"),
    [
        (9, 7, "Data row 8 has more values than the header"),  # within the sampled lines
        (400, 300, "Line 302 has 6 fields but the header has 4"),  # beyond them
    ],
)
def test_a_bad_line_anywhere_is_a_422_before_anything_is_sent(
    ctx, ventes, monkeypatch, n_rows, bad_row, words
):
    lines = _ventes_rows(n_rows)
    lines[bad_row] = "Pâté;Alsace;13,40;3;extra;fields"
    content = ("Produit;Région;Prix (€);Quantité\n" + "\n".join(lines)).encode("utf-8")
    monkeypatch.setattr(predictions, "CHUNK_ROWS", 3)
    with pytest.raises(ValidationFailed) as caught:
        predictions.predict_csv(session=ctx[0], version=ventes, content=content)
    assert words in caught.value.message


def test_a_first_chunk_without_one_answerable_row_is_a_422(ctx, ventes, monkeypatch):
    lines = ["Pâté;Alsace;cher;3"] * 3 + _ventes_rows(4)
    content = ("Produit;Région;Prix (€);Quantité\n" + "\n".join(lines)).encode("utf-8")
    monkeypatch.setattr(predictions, "CHUNK_ROWS", 3)
    with pytest.raises(ValidationFailed) as caught:
        predictions.predict_csv(session=ctx[0], version=ventes, content=content)
    assert caught.value.details[0]["field"] == "rows.0.Prix (€)"


# -- formulas in downloaded CSV files (issue 11, item 9) ----------------------------------------


def test_cells_a_spreadsheet_would_run_come_back_as_text(ctx, ventes):
    rows = ["=cmd|' /C calc'!A0;Bretagne;-2,95;12;=1+1", "@SUM(A1);+Alsace;-1.234,50;-3;x",
            "\tCafé;-;2,5;4;-"]  # fmt: skip
    content = ("Produit;Région;Prix (€);Quantité;@note\n" + "\n".join(rows)).encode("utf-8")
    text = predictions.predict_csv(session=ctx[0], version=ventes, content=content).read()
    cells = [line.split(";")[:5] for line in text.decode().splitlines()]
    assert cells[0] == ["Produit", "Région", "Prix (€)", "Quantité", "'@note"]
    assert cells[1] == ["'=cmd|' /C calc'!A0", "Bretagne", "-2,95", "12", "'=1+1"]
    # Negative numbers in the file's decimal comma stay numbers; a lone dash stays too.
    assert cells[2] == ["'@SUM(A1)", "'+Alsace", "-1.234,50", "-3", "x"]
    assert cells[3] == ["'\tCafé", "-", "2,5", "4", "-"]
    plain = predictions.predict_csv(session=ctx[0], version=ventes, content=content,
                                    dialect="plain").read().decode()  # fmt: skip
    assert "\n'@SUM(A1),'+Alsace,-1234.5,-3,x," in plain


# -- the summary of a batch from the model page (issue 10, item 8) -----------------------------


SUMMARY_REDIS = "redis://127.0.0.1:6379/12"


@pytest.fixture(params=["files", "redis"])
def summary_store(request, tmp_path):
    """Where summaries live: files on one host, Redis when servers share only Redis."""
    from webapp.services import batch_summaries

    if request.param == "files":
        yield batch_summaries.SummaryStore(tmp_path)
        return
    import uuid

    from redis import Redis

    client = Redis.from_url(SUMMARY_REDIS, socket_connect_timeout=1)
    try:
        client.ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    store = batch_summaries.RedisSummaryStore(SUMMARY_REDIS, uuid.uuid4().int % 10**9)
    yield store
    for key in client.scan_iter(store.prefix + "*"):
        client.delete(key)


def test_summaries_go_to_redis_when_the_servers_share_it(tmp_path):
    from webapp.services import batch_summaries

    shared = batch_summaries.store_for({"REDIS_URL": SUMMARY_REDIS}, tmp_path, 7)
    assert isinstance(shared, batch_summaries.RedisSummaryStore)
    alone = batch_summaries.store_for({"REDIS_URL": None}, tmp_path, 7)
    assert isinstance(alone, batch_summaries.SummaryStore)


def test_a_download_cut_short_is_recorded_as_stopped(ctx, ventes, monkeypatch, summary_store):
    from webapp.services import batch_summaries

    content = ("Produit;Région;Prix (€);Quantité\n" + "\n".join(_ventes_rows(9))).encode("utf-8")
    monkeypatch.setattr(predictions, "CHUNK_ROWS", 3)
    store = summary_store
    answer = predictions.predict_csv(session=ctx[0], version=ventes, content=content)
    chunks = batch_summaries.recorded(answer, store, "batch-0001", {"file": "v.csv"})
    assert store.read("batch-0001")["status"] == "running"
    next(chunks)
    assert store.read("batch-0001")["summary"]["rows"] == 3
    chunks.close()  # the client went away after the first chunk
    record = store.read("batch-0001")
    assert record["status"] == "stopped" and record["summary"]["rows"] == 3
    complete = batch_summaries.recorded(
        predictions.predict_csv(session=ctx[0], version=ventes, content=content),
        store, "batch-0002", {"file": "v.csv"},
    )  # fmt: skip
    assert len(list(complete)) == 3
    summary = store.read("batch-0002")["summary"]
    assert store.read("batch-0002")["status"] == "done"
    assert (summary["rows"], summary["predicted"]) == (9, 9)
    assert sum(n for _, n in summary["counts"]) == 9


def test_a_template_holds_the_inputs_and_the_forms_starting_values(ctx, ventes):
    lines = predictions.template_csv(ventes).splitlines()
    assert lines[0] == "Produit,Région,Prix (€),Quantité"
    product, region, price, quantity = lines[1].split(",")
    schema = {c["name"]: c for c in ventes.input_schema}
    assert product == schema["Produit"]["categories"][0] and float(price) > 0
    assert quantity == str(int(round(schema["Quantité"]["median"])))


def test_summaries_expire_and_are_swept_when_the_user_starts_a_batch(tmp_path, monkeypatch):
    from webapp.services import batch_summaries

    store = batch_summaries.SummaryStore.for_user(tmp_path, 7)
    store.write("batch-0001", {"status": "running", "summary": {}})
    record = store.read("batch-0001")
    assert store.folder == tmp_path / "batch-summaries" / "7" and not store.is_stale(record)
    later = record["updated"] + batch_summaries.STALE_SECONDS + 1
    monkeypatch.setattr(batch_summaries.time, "time", lambda: later)
    assert store.is_stale(store.read("batch-0001"))  # its worker is gone: shown as stopped
    much_later = record["updated"] + batch_summaries.KEEP_SECONDS + 1
    monkeypatch.setattr(batch_summaries.time, "time", lambda: much_later)
    assert store.read("batch-0001") is None
    assert (store.folder / "batch-0001.json").exists()  # reading never deletes
    store.sweep()
    assert not (store.folder / "batch-0001.json").exists()
    with pytest.raises(ValueError):
        store.read("../../../etc/passwd")
