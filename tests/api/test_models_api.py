"""Models over the API: list, read, download, delete, predict with JSON and CSV."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from mlcore import persistence
from tests.ml_helpers import shutdown_jobs, train, upload

ROW = {
    "age": 40,
    "monthly_spend": 55.5,
    "visits_per_month": 6,
    "region": "north",
    "device": "mobile",
    "has_children": "yes",
    "signup_date": "2023-01-15",
}


@pytest.fixture(autouse=True)
def _stop_jobs(app):
    yield
    shutdown_jobs(app)


@pytest.fixture
def forest(app, client, user_headers) -> dict:
    dataset = upload(client, user_headers, "sample_classification.csv")
    run = train(client, user_headers, app=app, dataset_id=dataset["id"],
                algorithm="random_forest", target="plan", params={"n_estimators": 10},
                model_name="Plans")  # fmt: skip
    assert run["status"] == "succeeded", run["error"]
    return client.get(f"/api/v1/models/{run['model_id']}", headers=user_headers).get_json()


@pytest.fixture
def kmeans(app, client, user_headers) -> dict:
    dataset = upload(client, user_headers, "sample_data.csv")
    run = train(client, user_headers, app=app, dataset_id=dataset["id"], algorithm="kmeans")
    return client.get(f"/api/v1/models/{run['model_id']}", headers=user_headers).get_json()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]


def test_model_describes_its_inputs(forest):
    assert forest["name"] == "Plans" and forest["version"] == 1
    assert forest["task"] == "classification" and forest["target"] == "plan"
    names = [c["name"] for c in forest["input_schema"]]
    assert "customer_id" not in names and "region" in names
    assert forest["classes"] == ["basic", "premium", "standard"]


def test_list_models(client, user_headers, other_headers, forest):
    page = client.get("/api/v1/models", headers=user_headers).get_json()
    assert page["total"] == 1 and page["items"][0]["id"] == forest["id"]
    assert client.get("/api/v1/models?name=Nope", headers=user_headers).get_json()["total"] == 0
    assert client.get("/api/v1/models", headers=other_headers).get_json()["total"] == 0


def test_predict_json_rows_with_probabilities(client, user_headers, forest):
    response = client.post(
        f"/api/v1/models/{forest['id']}/predict", headers=user_headers, json={"rows": [ROW, ROW]}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["classes"] == forest["classes"]
    assert len(body["predictions"]) == 2 and body["predictions"][0] in forest["classes"]
    assert abs(sum(body["probabilities"][0]) - 1) < 1e-6
    assert body["errors"] == [None, None]


def test_bad_rows_get_their_own_errors(client, user_headers, forest):
    missing = {k: v for k, v in ROW.items() if k != "region"}
    rows = [ROW, missing, {**ROW, "age": "old"}, {**ROW, "region": "mars"}]
    body = client.post(
        f"/api/v1/models/{forest['id']}/predict", headers=user_headers, json={"rows": rows}
    ).get_json()
    assert body["predictions"][0] is not None
    assert body["predictions"][1:3] == [None, None]
    assert body["probabilities"][1] is None
    assert "missing" in body["errors"][1]["region"]
    assert "not a number" in body["errors"][2]["age"]
    # A category never seen in training is answered, with a warning (issue 13, item 6).
    assert body["predictions"][3] in forest["classes"] and body["errors"][3] is None
    assert body["warnings"] == [None, None, None, {"region": body["warnings"][3]["region"]}]
    assert "'mars' was not seen in training" in body["warnings"][3]["region"]


def test_no_good_row_is_422(client, user_headers, forest):
    response = client.post(
        f"/api/v1/models/{forest['id']}/predict", headers=user_headers, json={"rows": [{"x": 1}]}
    )
    error = error_of(response, 422)
    assert any(d["field"] == "rows.0.region" for d in error["details"])
    for body in ({"rows": []}, {"rows": "x"}, {}):
        error_of(client.post(f"/api/v1/models/{forest['id']}/predict", headers=user_headers,
                             json=body), 422)  # fmt: skip


def test_predict_csv_body(client, user_headers, forest):
    frame = pd.DataFrame([ROW, {**ROW, "age": "old"}])
    response = client.post(
        f"/api/v1/models/{forest['id']}/predict",
        headers={**user_headers, "Content-Type": "text/csv"},
        data=frame.to_csv(index=False),
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    out = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert list(out.columns[-5:]) == [
        "prediction", "probability_basic", "probability_premium", "probability_standard", "error"
    ]  # fmt: skip
    assert out["prediction"].iloc[0] in forest["classes"]
    assert pd.isna(out["prediction"].iloc[1]) and "not a number" in out["error"].iloc[1]


def test_json_batches_are_capped_but_csv_batches_may_be_large(client, user_headers, forest):
    url = f"/api/v1/models/{forest['id']}/predict"
    too_many = {"rows": [ROW] * 10_001}
    error = error_of(client.post(url, headers=user_headers, json=too_many), 422)
    assert "10,000" in error["message"] or any("10000" in str(d) for d in error["details"])
    frame = pd.DataFrame([ROW] * 12_000)
    response = client.post(
        url,
        headers={**user_headers, "Content-Type": "text/csv"},
        data=frame.to_csv(index=False),
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    out = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert len(out) == 12_000 and out["prediction"].notna().all()


def test_predict_needs_json_or_csv(client, user_headers, forest):
    response = client.post(f"/api/v1/models/{forest['id']}/predict", headers=user_headers,
                           data="rows", content_type="text/plain")  # fmt: skip
    error_of(response, 415)


def test_kmeans_predicts_clusters(client, user_headers, kmeans):
    body = client.post(
        f"/api/v1/models/{kmeans['id']}/predict",
        headers=user_headers,
        json={"rows": [{"age": 30, "annual_income_k": 70, "spending_score": 80}]},
    ).get_json()
    assert "predictions" in body, body
    assert body["predictions"][0] in (0, 1, 2)
    assert body["probabilities"] is None and body["classes"] is None


def test_download_loads_with_mlcore(client, user_headers, forest):
    response = client.get(f"/api/v1/models/{forest['id']}/download", headers=user_headers)
    assert response.status_code == 200
    assert "Plans-v1.mlcore.npz" in response.headers["Content-Disposition"]
    saved = persistence.loads(response.data)
    assert saved.metadata["target"] == "plan"


def test_delete_model(client, user_headers, forest):
    url = f"/api/v1/models/{forest['id']}"
    assert client.delete(url, headers=user_headers).status_code == 204
    error_of(client.get(url, headers=user_headers), 404)
    run = client.get("/api/v1/runs", headers=user_headers).get_json()["items"][0]
    assert run["model_id"] is None


def test_another_users_model_is_404_for_every_verb(client, other_headers, forest):
    base = f"/api/v1/models/{forest['id']}"
    for method, url, kwargs in (
        ("get", base, {}),
        ("delete", base, {}),
        ("get", base + "/download", {}),
        ("post", base + "/predict", {"json": {"rows": [ROW]}}),
    ):
        error_of(getattr(client, method)(url, headers=other_headers, **kwargs), 404)


def test_predict_bad_csv_bodies_are_4xx(client, user_headers, forest):
    url = f"/api/v1/models/{forest['id']}/predict"
    csv_headers = {**user_headers, "Content-Type": "text/csv"}
    assert "empty" in error_of(client.post(url, headers=csv_headers, data=""), 422)["message"]
    wrong = client.post(url, headers=csv_headers, data="a,b\n1,2\n")
    assert any(d["field"] == "rows.0.region" for d in error_of(wrong, 422)["details"])
    binary = client.post(url, headers=csv_headers, data=b"PK\x03\x04" + bytes(200))
    assert 400 <= binary.status_code < 500 and binary.mimetype == "application/json"


# -- real-world shapes (issue 13) ----------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


def fixture_model(app, client, headers, filename: str, **run) -> dict:
    dataset = upload(client, headers, filename, content=(FIXTURES / filename).read_bytes())
    finished = train(client, headers, app=app, dataset_id=dataset["id"], **run)
    assert finished["status"] == "succeeded", finished["error"]
    return client.get(f"/api/v1/models/{finished['model_id']}", headers=headers).get_json()


@pytest.mark.parametrize(
    ("algorithm", "params"),
    [("decision_tree", {}), ("random_forest", {"n_estimators": 10})],
)
def test_a_table_whose_only_feature_is_a_date_trains_and_predicts(
    app, client, user_headers, algorithm, params
):
    model = fixture_model(app, client, user_headers, "quarterly_gdp.csv", algorithm=algorithm,
                          target="gdp", params=params)  # fmt: skip
    assert [c["name"] for c in model["input_schema"]] == ["quarter"]
    assert model["input_schema"][0]["kind"] == "datetime"
    rows = [{"quarter": "1985Q3"}, {"quarter": "1985-07-01"}]
    response = client.post(
        f"/api/v1/models/{model['id']}/predict", headers=user_headers, json={"rows": rows}
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["errors"] == [None, None] and body["predictions"][0] == body["predictions"][1]
    assert 1400 < body["predictions"][0] < 1700


def test_a_csv_batch_with_unseen_categories_is_answered_with_warnings(app, client, user_headers):
    model = fixture_model(app, client, user_headers, "flights_train.csv",
                          algorithm="decision_tree", target="delayed")  # fmt: skip
    response = client.post(
        f"/api/v1/models/{model['id']}/predict",
        headers={**user_headers, "Content-Type": "text/csv"},
        data=(FIXTURES / "flights_new.csv").read_bytes(),
    )
    assert response.status_code == 200
    out = pd.read_csv(io.BytesIO(response.data), keep_default_na=False)
    assert out["prediction"].tolist()[:3] != ["", "", ""] and out["prediction"][3] == ""
    assert out["warning"][0] == "" and "'N999ZZ' was not seen" in out["warning"][1]
    assert "origin: 'BUR' was not seen" in out["warning"][2]
    assert out["error"][3] == "distance: 'far' is not a number"


def test_a_csv_batch_is_answered_in_its_own_dialect_or_plain(app, client, user_headers):
    model = fixture_model(app, client, user_headers, "ventes_train.csv",
                          algorithm="decision_tree", target="Catégorie")  # fmt: skip
    url = f"/api/v1/models/{model['id']}/predict"
    headers = {**user_headers, "Content-Type": "text/csv"}
    content = (FIXTURES / "ventes_batch.csv").read_bytes()
    same = client.post(url, headers=headers, data=content)
    assert same.status_code == 200
    assert same.headers["Content-Type"] == "text/csv; charset=windows-1252"
    text = same.data.decode("cp1252")
    assert text.startswith("Produit;Région;Prix (€);Quantité;prediction;") and "\r\n" in text
    assert "\r\nBière blonde;Provence;1.234,50;7;" in text
    plain = client.post(url + "?dialect=plain", headers=headers, data=content)
    assert plain.headers["Content-Type"] == "text/csv; charset=utf-8"
    out = pd.read_csv(io.BytesIO(plain.data))
    assert out["Quantité"].tolist() == [12, 3, 5, 7] and out["Prix (€)"][0] == "2.95"
    error = error_of(client.post(url + "?dialect=xml", headers=headers, data=content), 422)
    assert error["details"][0]["field"] == "dialect"


def test_openapi_documents_warnings_and_the_csv_dialect(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "warnings" in spec["components"]["schemas"]["PredictResponse"]["required"]
    parameters = spec["paths"]["/api/v1/models/{model_id}/predict"]["post"]["parameters"]
    dialect = next(p for p in parameters if p["name"] == "dialect")
    assert dialect["in"] == "query" and dialect["schema"]["enum"] == ["upload", "plain"]


# -- fast predictions (issue 12) -----------------------------------------------------------------


def test_a_number_too_large_for_a_float_is_a_row_error_not_a_500(client, user_headers, forest):
    huge = "1" + "0" * 400  # valid JSON; Python reads it as an int no float can hold
    body = json.dumps({"rows": [{**ROW, "age": "HUGE"}, ROW]}).replace('"HUGE"', huge)
    response = client.post(f"/api/v1/models/{forest['id']}/predict", headers=user_headers,
                           data=body, content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert result["predictions"][0] is None and result["predictions"][1] in forest["classes"]
    assert result["errors"][0] == {"age": f"{huge} is not a number"}


def test_a_csv_answer_is_streamed_with_formulas_escaped(client, user_headers, forest):
    frame = pd.DataFrame([{**ROW, "note": "=HYPERLINK(\"http://x\")"}, {**ROW, "note": "-4.5"},
                          {**ROW, "region": "+north"}])  # fmt: skip
    response = client.post(
        f"/api/v1/models/{forest['id']}/predict",
        headers={**user_headers, "Content-Type": "text/csv"},
        data=frame.to_csv(index=False),
    )
    assert response.status_code == 200 and response.is_streamed
    out = pd.read_csv(io.StringIO(response.get_data(as_text=True)), keep_default_na=False)
    assert out["note"].tolist() == ['\'=HYPERLINK("http://x")', "-4.5", ""]
    assert out["region"].tolist() == ["north", "north", "'+north"]
    assert "'+north' was not seen in training" in out["warning"][2]


def test_a_template_csv_names_the_models_columns(client, user_headers, other_headers, forest):
    url = f"/api/v1/models/{forest['id']}/template"
    response = client.get(url, headers=user_headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Plans-v1-template.csv" in response.headers["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(response.data))
    assert list(frame.columns) == [c["name"] for c in forest["input_schema"]]
    assert len(frame) == 1
    predicted = client.post(f"/api/v1/models/{forest['id']}/predict", data=response.data,
                            headers={**user_headers, "Content-Type": "text/csv"})  # fmt: skip
    assert predicted.status_code == 200
    assert pd.read_csv(io.BytesIO(predicted.data))["prediction"][0] in forest["classes"]
    error_of(client.get(url, headers=other_headers), 404)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert (
        "text/csv"
        in spec["paths"]["/api/v1/models/{model_id}/template"]["get"]["responses"]["200"]["content"]
    )
