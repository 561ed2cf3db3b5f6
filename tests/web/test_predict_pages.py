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
    assert 'name="dialect"' in page and "plain UTF-8 CSV" in page


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
