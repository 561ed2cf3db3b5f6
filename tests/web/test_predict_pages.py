"""Predicting from the model page on real-world shapes (issue 13): unseen categories in the
one-row form and in a batch, batch answers in the upload's dialect or as plain UTF-8 CSV."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.ml_helpers import shutdown_jobs
from tests.web.test_ml_pages import start_run
from webapp.db import get_session
from webapp.models import User
from webapp.services import datasets as dataset_service

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


@pytest.fixture(autouse=True)
def _stop_jobs(app):
    yield
    shutdown_jobs(app)


def trained_model(app, client, filename: str, algorithm: str, **form) -> int:
    with app.app_context():
        session = get_session()
        user = session.query(User).filter_by(username="alice").one()
        dataset = dataset_service.create_dataset(
            session=session, user=user, filename=filename,
            content=(FIXTURES / filename).read_bytes(),
        )  # fmt: skip
        dataset_id = dataset.id
    run_id = start_run(app, client, dataset_id, algorithm, **form)
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    return int(re.search(r'href="/models/(\d+)" data-testid="model-link"', page).group(1))


@pytest.fixture
def flights(app, client, auth) -> int:
    auth.signup_and_login()
    return trained_model(app, client, "flights_train.csv", "decision_tree", target="delayed",
                         features=["origin", "carrier", "tailnum", "distance", "dep_hour"],
                         max_depth="5", min_samples_leaf="2", criterion="gini")  # fmt: skip


@pytest.fixture
def ventes(app, client, auth) -> int:
    auth.signup_and_login()
    return trained_model(app, client, "ventes_train.csv", "decision_tree", target="Catégorie",
                         features=["Produit", "Région", "Prix (€)", "Quantité"],
                         max_depth="5", min_samples_leaf="2", criterion="gini")  # fmt: skip


def batch(client, model_id: int, filename: str, **form):
    content = (FIXTURES / filename).read_bytes()
    return client.post(f"/models/{model_id}/predict.csv",
                       data={"file": (io.BytesIO(content), filename), **form},
                       content_type="multipart/form-data")  # fmt: skip


def test_one_row_with_an_unseen_category_is_predicted_with_a_warning(client, flights):
    row = {"origin": "BUR", "carrier": "UA", "tailnum": "N998ZY", "distance": "410",
           "dep_hour": "7"}  # fmt: skip
    response = client.post(f"/models/{flights}/predict", data=row)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="prediction"' in page and 'data-testid="prediction-warnings"' in page
    assert "origin: &#39;BUR&#39; was not seen in training" in page
    wrong_type = client.post(f"/models/{flights}/predict", data={**row, "distance": "far"})
    assert wrong_type.status_code == 422 and "not a number" in wrong_type.get_data(as_text=True)


def test_a_batch_with_unseen_categories_gets_a_warning_column(client, flights):
    response = batch(client, flights, "flights_new.csv")
    assert response.status_code == 200
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].endswith(",prediction,probability_no,probability_yes,error,warning")
    assert "tailnum: 'N999ZZ' was not seen in training" in lines[2]
    assert "distance: 'far' is not a number" in lines[4]


def test_the_model_page_offers_the_answer_dialect(client, ventes):
    page = client.get(f"/models/{ventes}").get_data(as_text=True)
    assert 'name="dialect"' in page and "Plain UTF-8 CSV" in page


def test_a_batch_comes_back_in_the_uploads_dialect(client, ventes):
    response = batch(client, ventes, "ventes_batch.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=windows-1252"
    text = response.data.decode("cp1252")
    assert text.startswith("Produit;Région;Prix (€);Quantité;prediction;probability_Boissons")
    assert "\r\nThé vert;Bretagne;2,95;12;Boissons;" in text


def test_a_batch_comes_back_as_plain_utf8_when_asked(client, ventes):
    response = batch(client, ventes, "ventes_batch.csv", dialect="plain")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.data.decode("utf-8")
    assert text.startswith("Produit,Région,Prix (€),Quantité,prediction,probability_Boissons")
    assert "\nThé vert,Bretagne,2.95,12,Boissons," in text and "\r" not in text
    unknown = batch(client, ventes, "ventes_batch.csv", dialect="xml")
    assert unknown.status_code == 422 and "Unknown CSV dialect" in unknown.get_data(as_text=True)


# -- downloads a spreadsheet opens safely, streamed (issue 11, items 8 and 9) --------------------


def test_a_batch_download_escapes_formulas_and_streams(client, ventes):
    rows = ["=cmd|' /C calc'!A0;Bretagne;-2,95;12", "Pâté;@Alsace;-1.234,50;-3"]
    content = ("Produit;Région;Prix (€);Quantité\r\n" + "\r\n".join(rows)).encode("cp1252")
    response = client.post(f"/models/{ventes}/predict.csv",
                           data={"file": (io.BytesIO(content), "new.csv")},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 200 and response.is_streamed
    lines = response.data.decode("cp1252").split("\r\n")
    assert lines[1].startswith("'=cmd|' /C calc'!A0;Bretagne;-2,95;12;")
    assert lines[2].startswith("Pâté;'@Alsace;-1.234,50;-3;")


def test_the_clusters_download_escapes_formulas_and_keeps_negative_numbers(app, client, auth):
    auth.signup_and_login()
    lines = [f"{(i % 7) - 3.5},{i % 5},{['=1+2', '@x', 'plain'][i % 3]}" for i in range(30)]
    content = ("x,y,=label\n" + "\n".join(lines) + "\n").encode()
    with app.app_context():
        session = get_session()
        user = session.query(User).filter_by(username="alice").one()
        dataset_id = dataset_service.create_dataset(
            session=session, user=user, filename="formulas.csv", content=content
        ).id
    run_id = start_run(app, client, dataset_id, k="2", features=["x", "y"])
    response = client.get(f"/runs/{run_id}/clusters.csv")
    assert response.status_code == 200 and response.is_streamed
    out = response.get_data(as_text=True).splitlines()
    assert out[0] == "x,y,'=label,cluster"
    assert out[1].startswith("-3.5,0,'=1+2,") and out[2].startswith("-2.5,1,'@x,")
    assert out[3].startswith("-1.5,2,plain,")


# -- batch predictions: a template, and a summary after the download (issue 10, item 8) ---------


@pytest.fixture
def penguins(app, client, auth) -> int:
    auth.signup_and_login()
    return trained_model(app, client, "penguins.csv", "decision_tree", target="species",
                         features=["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                   "body_mass_g", "sex", "year"],
                         max_depth="4", min_samples_leaf="2", criterion="gini")  # fmt: skip


def test_the_form_hints_show_years_without_separators(client, penguins):
    page = client.get(f"/models/{penguins}").get_data(as_text=True)
    assert "2007 to 2009 in training" in page
    assert re.search(r"\d,\d{3} to \d,\d{3} in training", page)  # a mass keeps its commas
    assert "2,007" not in page


def test_the_template_has_the_models_columns_and_an_example_row(client, penguins):
    page = client.get(f"/models/{penguins}").get_data(as_text=True)
    link = re.search(r'href="([^"]+)" download data-testid="batch-template"', page).group(1)
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "penguins-tree-v1-template.csv" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year"
    island, *_, year = lines[1].split(",")
    assert island == "Biscoe" and year == "2008"
    # The template, sent back as it is, is predicted.
    filled = client.post(f"/models/{penguins}/predict.csv",
                         data={"file": (io.BytesIO(response.data), "template.csv")},
                         content_type="multipart/form-data")  # fmt: skip
    assert filled.status_code == 200 and filled.get_data(as_text=True).count("\n") == 2


def _summary(client, model_id: int, batch_id: str) -> str:
    return client.get(f"/models/{model_id}/batch-summary?batch_id={batch_id}").get_data(
        as_text=True
    )


def test_after_a_batch_the_page_shows_what_the_download_holds(client, penguins):
    page = client.get(f"/models/{penguins}").get_data(as_text=True)
    batch_id = re.search(r'name="batch_id" id="batch-id" value="([^"]+)"', page).group(1)
    assert "Sending the file" in _summary(client, penguins, batch_id)  # not arrived yet: asks again
    rows = (FIXTURES / "penguins.csv").read_text().splitlines()
    rows[1] = rows[1].replace(",Biscoe,", ",Anvers,")  # an island never seen: a warning
    rows[2] = rows[2].replace(",217,", ",long,")  # a flipper length that is no number: an error
    response = client.post(f"/models/{penguins}/predict.csv",
                           data={"file": (io.BytesIO("\n".join(rows).encode()), "new.csv"),
                                 "batch_id": batch_id},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 200 and response.is_streamed
    # While the download runs, the page says so and asks again.
    running = _summary(client, penguins, batch_id)
    assert "Predicting new-predictions.csv" in running and 'hx-trigger="load delay:1s"' in running
    body = response.get_data(as_text=True)  # the browser reads the download to its end
    assert body.count("\n") == 121
    done = _summary(client, penguins, batch_id)
    assert 'data-status="done"' in done and "hx-trigger" not in done
    assert "120 rows" in done and "1 with an error" in done and "1 with a warning" in done
    assert re.search(r"Adelie</span>.*?<span class=\"num\">\d+</span>", done, re.S)
    # The next batch from the page gets a new id.
    assert 'id="batch-id"' in done and f'value="{batch_id}"' not in done


def test_a_summary_is_only_its_owners_and_only_for_its_model(app, client, auth, penguins):
    batch_id = "abcdefgh12345678"
    client.post(f"/models/{penguins}/predict.csv",
                data={"file": (io.BytesIO((FIXTURES / "penguins.csv").read_bytes()), "p.csv"),
                      "batch_id": batch_id},
                content_type="multipart/form-data").get_data()  # fmt: skip
    assert 'data-status="done"' in _summary(client, penguins, batch_id)
    auth.logout()
    auth.signup_and_login("bob")
    assert client.get(f"/models/{penguins}/batch-summary?batch_id={batch_id}").status_code == 404
    assert client.get(f"/models/{penguins}/template.csv").status_code == 404


@pytest.mark.parametrize("batch_id", ["short", "../../etc/passwd", "a" * 65, "x y z 1234"])
def test_a_malformed_batch_id_records_nothing_and_reads_nothing(client, penguins, batch_id):
    response = client.post(f"/models/{penguins}/predict.csv",
                           data={"file": (io.BytesIO((FIXTURES / "penguins.csv").read_bytes()),
                                          "p.csv"), "batch_id": batch_id},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 200 and response.get_data(as_text=True).count("\n") == 121
    summary = client.get(f"/models/{penguins}/batch-summary", query_string={"batch_id": batch_id})
    assert summary.status_code == 200 and 'data-status="done"' not in summary.get_data(as_text=True)
