"""Training pages in the browser (test client): form, live fragment, results, models,
predictions, access rules."""

from __future__ import annotations

import io
import re

import pytest

from tests.ml_helpers import DATA, shutdown_jobs
from webapp import jobs
from webapp.db import get_session
from webapp.models import User
from webapp.services import datasets as dataset_service


@pytest.fixture(autouse=True)
def _stop_jobs(app):
    yield
    shutdown_jobs(app)


@pytest.fixture
def logged_in(auth):
    auth.signup_and_login()


def add_sample(app, filename="sample_data.csv", username="alice") -> int:
    with app.app_context():
        session = get_session()
        user = session.query(User).filter_by(username=username).one()
        dataset = dataset_service.create_dataset(
            session=session, user=user, filename=filename, content=(DATA / filename).read_bytes()
        )
        return dataset.id


def start_run(app, client, dataset_id, algorithm="kmeans", **form):
    data = {"dataset_id": dataset_id, "algorithm": algorithm, "test_percent": "20",
            "random_state": "42", **form}  # fmt: skip
    response = client.post("/runs/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    run_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    jobs.get_backend(app).wait_idle(60)
    return run_id


@pytest.mark.parametrize("url", ["/runs", "/runs/new", "/runs/1", "/models", "/models/1"])
def test_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_empty_pages(client, logged_in):
    assert "No runs yet" in client.get("/runs").get_data(as_text=True)
    assert "No models yet" in client.get("/models").get_data(as_text=True)
    assert "no data sets yet" in client.get("/runs/new").get_data(as_text=True)


def test_form_lists_usable_features_checked(app, client, logged_in):
    dataset_id = add_sample(app, "sample_classification.csv")
    page = client.get(f"/runs/new?dataset_id={dataset_id}&algorithm=random_forest")
    html = page.get_data(as_text=True)
    assert 'name="n_estimators"' in html and 'name="target"' in html
    assert re.search(r'value="age" checked', html)
    assert re.search(r'value="customer_id"\s+disabled', html)
    fragment = client.get(f"/runs/new?dataset_id={dataset_id}&algorithm=kmeans",
                          headers={"HX-Request": "true"}).get_data(as_text=True)  # fmt: skip
    assert fragment.lstrip().startswith('<div id="run-form-area"') and 'name="k"' in fragment


def test_kmeans_run_page_live_then_results(app, client, logged_in):
    dataset_id = add_sample(app)
    run_id = start_run(app, client, dataset_id, k="3",
                       features=["age", "annual_income_k", "spending_score"])  # fmt: skip
    live = client.get(f"/runs/{run_id}/live").get_data(as_text=True)
    assert 'data-status="succeeded"' in live and "hx-trigger" not in live
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    for name in ("clusters", "elbow", "silhouette", "cluster_sizes"):
        assert f"/runs/{run_id}/plots/{name}.png" in page
        assert client.get(f"/runs/{run_id}/plots/{name}.png").mimetype == "image/png"
    assert 'data-testid="centroids"' in page
    csv = client.get(f"/runs/{run_id}/clusters.csv")
    assert csv.mimetype == "text/csv"
    header = csv.get_data(as_text=True).splitlines()[0]
    assert header == "age,annual_income_k,spending_score,cluster"


def test_downloads_named_after_user_text_have_valid_headers(app, client, logged_in):
    """A data set name in any script, or with quotes, must give a header servers can send."""
    dataset_id = add_sample(app)
    client.post(f"/datasets/{dataset_id}/rename", data={"name": '顧客 "データ"'})
    run_id = start_run(app, client, dataset_id, k="3", features=["age", "spending_score"])
    response = client.get(f"/runs/{run_id}/clusters.csv")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # WSGI servers write headers as Latin-1
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "%E9%A1%A7%E5%AE%A2" in disposition  # 顧客, percent-encoded


def test_unfinished_run_fragment_keeps_polling(app, client, logged_in, monkeypatch):
    monkeypatch.setattr(jobs.InProcessBackend, "submit", lambda self, run: None)
    dataset_id = add_sample(app)
    run_id = start_run(app, client, dataset_id, k="3", features=["age", "spending_score"])
    live = client.get(f"/runs/{run_id}/live").get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in live and 'data-status="queued"' in live
    response = client.post(f"/runs/{run_id}/cancel")
    assert response.status_code == 302
    assert 'data-status="cancelled"' in client.get(f"/runs/{run_id}/live").get_data(as_text=True)


def test_bad_form_shows_field_errors(app, client, logged_in):
    dataset_id = add_sample(app)
    response = client.post("/runs/new", data={"dataset_id": dataset_id, "algorithm": "kmeans",
                                               "k": "999", "features": ["age"]})  # fmt: skip
    assert response.status_code == 422
    assert "larger than the 300 rows" in response.get_data(as_text=True)
    response = client.post("/runs/new", data={"dataset_id": dataset_id, "algorithm": "kmeans"})
    assert response.status_code == 422
    assert "Choose at least one feature" in response.get_data(as_text=True)


def test_tree_run_shows_rules_and_model_page_predicts(app, client, logged_in):
    dataset_id = add_sample(app, "sample_classification.csv")
    features = ["age", "monthly_spend", "visits_per_month", "region", "device"]
    run_id = start_run(app, client, dataset_id, "decision_tree", target="plan",
                       features=features, max_depth="4", min_samples_leaf="2",
                       criterion="gini", model_name="Plan tree")  # fmt: skip
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'data-testid="rules"' in page and "/plots/tree.png" in page
    model_id = int(re.search(r'href="/models/(\d+)" data-testid="model-link"', page).group(1))
    assert client.get(f"/runs/{run_id}/plots/tree.png").status_code == 200
    model_page = client.get(f"/models/{model_id}").get_data(as_text=True)
    assert 'name="region"' in model_page
    row = {"age": "40", "monthly_spend": "50", "visits_per_month": "5", "region": "north",
           "device": "mobile"}  # fmt: skip
    result = client.post(f"/models/{model_id}/predict", data=row).get_data(as_text=True)
    assert 'data-testid="prediction"' in result
    bad = client.post(f"/models/{model_id}/predict", data={**row, "age": "old"})
    assert bad.status_code == 422 and "not a number" in bad.get_data(as_text=True)
    upload = "age,monthly_spend,visits_per_month,region,device\n40,50,5,north,mobile\n"
    response = client.post(f"/models/{model_id}/predict.csv",
                           data={"file": (io.BytesIO(upload.encode()), "rows.csv")},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.mimetype == "text/csv"
    assert "rows-predictions.csv" in response.headers["Content-Disposition"]
    assert (
        response.get_data(as_text=True)
        .splitlines()[0]
        .endswith("prediction,probability_basic,probability_premium,probability_standard")
    )
    empty = client.post(f"/models/{model_id}/predict.csv", data={},
                        content_type="multipart/form-data")  # fmt: skip
    assert empty.status_code == 422 and "Choose a CSV file" in empty.get_data(as_text=True)


def test_models_page_compare_and_delete(app, client, logged_in):
    dataset_id = add_sample(app)
    for k in ("2", "3"):
        start_run(app, client, dataset_id, k=k, features=["age", "spending_score"],
                  model_name="Segments")  # fmt: skip
    page = client.get("/models").get_data(as_text=True)
    assert "Segments" in page and "v1" in page and "v2" in page
    ids = sorted(int(i) for i in set(re.findall(r'href="/models/(\d+)"', page)))
    compare = client.get(f"/models/compare?a={ids[0]}&b={ids[1]}").get_data(as_text=True)
    assert "B − A" in compare and "Mean squared distance" in compare
    assert client.get(f"/models/{ids[0]}/download").mimetype == "application/zip"
    response = client.post(f"/models/{ids[0]}/delete")
    assert response.status_code == 302
    assert client.get(f"/models/{ids[0]}").status_code == 404


def test_another_users_run_and_model_are_404(app, client, auth):
    auth.signup_and_login()
    dataset_id = add_sample(app)
    run_id = start_run(app, client, dataset_id, k="3", features=["age", "spending_score"])
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    model_id = int(re.search(r'href="/models/(\d+)" data-testid="model-link"', page).group(1))
    auth.logout()
    auth.signup_and_login("mallory")
    for method, url in (
        ("get", f"/runs/{run_id}"),
        ("get", f"/runs/{run_id}/live"),
        ("post", f"/runs/{run_id}/cancel"),
        ("post", f"/runs/{run_id}/retry"),
        ("get", f"/runs/{run_id}/plots/clusters.png"),
        ("get", f"/runs/{run_id}/clusters.csv"),
        ("get", f"/models/{model_id}"),
        ("post", f"/models/{model_id}/predict"),
        ("get", f"/models/{model_id}/download"),
        ("post", f"/models/{model_id}/delete"),
        ("get", f"/models/compare?a={model_id}&b={model_id}"),
    ):
        assert getattr(client, method)(url).status_code == 404, url
    form = client.get(f"/runs/new?dataset_id={dataset_id}").get_data(as_text=True)
    assert "no data sets yet" in form and "sample_data" not in form


@pytest.mark.parametrize(
    ("form", "field_words", "api_body"),
    [
        ({"algorithm": "random_forest", "target": "plan", "n_estimators": "0"},
         "n_estimators must be between 1 and 500.",
         {"algorithm": "random_forest", "target": "plan", "params": {"n_estimators": 0}}),
        ({"algorithm": "kmeans", "test_percent": "90"},
         "The test split must be between 5% and 50%.",
         {"algorithm": "kmeans", "test_size": 0.9}),
        ({"algorithm": "decision_tree", "target": "plan", "max_depth": "deep"},
         "max_depth must be a whole number.",
         {"algorithm": "decision_tree", "target": "plan", "params": {"max_depth": "deep"}}),
        ({"algorithm": "decision_tree", "target": "plan", "min_samples_leaf": "5000"},
         "min_samples_leaf must be between 1 and",
         {"algorithm": "decision_tree", "target": "plan", "params": {"min_samples_leaf": 5000}}),
    ],
)  # fmt: skip
def test_form_and_api_refuse_the_same_settings_with_the_same_words(
    app, client, api, logged_in, form, field_words, api_body
):
    """One validator: the browser form builds the API's own body model."""
    from webapp.api.ml_schemas import RunCreate
    from webapp.services.run_settings import RunSettings

    assert issubclass(RunCreate, RunSettings)
    dataset_id = add_sample(app, "sample_classification.csv")
    data = {"dataset_id": dataset_id, "features": ["age", "region"], **form}
    page = client.post("/runs/new", data=data)
    assert page.status_code == 422
    assert field_words in page.get_data(as_text=True).replace("&#39;", "'")
    headers = {"Authorization": f"Bearer {api.login().get_json()['access_token']}"}
    response = client.post("/api/v1/runs", headers=headers,
                           json={"dataset_id": dataset_id, **api_body})  # fmt: skip
    assert response.status_code == 422
    assert field_words in response.get_json()["error"]["message"]


def test_the_target_ticked_as_a_feature_is_left_out(app, client, logged_in):
    dataset_id = add_sample(app, "sample_classification.csv")
    run_id = start_run(app, client, dataset_id, "decision_tree", target="plan",
                       features=["age", "plan", "region"])  # fmt: skip
    with app.app_context():
        from webapp.models import Run

        assert get_session().get(Run, run_id).features == ["age", "region"]


def test_forest_form_explains_the_default_features_per_split(app, client, logged_in):
    dataset_id = add_sample(app, "sample_classification.csv")
    url = f"/runs/new?dataset_id={dataset_id}&algorithm=random_forest"
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'<option value="" selected>By task \(√ or all\)</option>', html)
    assert "√ of them for classes and all of them for a number" in html


def test_favicon_is_a_real_icon_and_the_api_docs_lead_back(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    docs = client.get("/api/docs").get_data(as_text=True)
    assert re.search(r'<a class="brand" href="/">.*Back to Playground</a>', docs)
    assert 'rel="icon"' in docs


def test_deleting_a_model_version_asks_first(app, client, logged_in):
    dataset_id = add_sample(app)
    start_run(app, client, dataset_id, k="3", features=["age", "spending_score"])
    page = client.get("/models").get_data(as_text=True)
    model_id = re.search(r'href="/models/(\d+)/delete"', page).group(1)
    assert f'action="/models/{model_id}/delete"' not in page  # no one-click delete
    confirm = client.get(f"/models/{model_id}/delete").get_data(as_text=True)
    assert "cannot be undone" in confirm and f'action="/models/{model_id}/delete"' in confirm
    assert client.get(f"/models/{model_id}").status_code == 200  # asking deleted nothing
    assert client.post(f"/models/{model_id}/delete").status_code == 302
    assert client.get(f"/models/{model_id}").status_code == 404


def test_compare_runs_on_a_data_set_marks_the_best_and_diffs_two(app, client, logged_in):
    dataset_id = add_sample(app, "sample_classification.csv")
    ids = [start_run(app, client, dataset_id, "decision_tree", target="plan",
                     features=["age", "monthly_spend", "region"], max_depth=depth)
           for depth in ("1", "4")]  # fmt: skip
    kmeans = start_run(app, client, dataset_id, features=["age", "monthly_spend"])
    page = client.get(f"/datasets/{dataset_id}/runs").get_data(as_text=True)
    assert page.count('data-testid="run-group"') == 2  # predicting plan, and clusters
    assert "Predicting plan" in page and "Accuracy" in page and f">{kmeans}</a>" in page
    with app.app_context():
        from webapp.models import Run

        scores = {i: get_session().get(Run, i).metrics["accuracy"] for i in ids}
    best = max(scores, key=scores.get)
    assert re.search(rf'<tr class="best">\s*<th scope="row" data-value="{best}">', page)
    chart = client.get(f"/datasets/{dataset_id}/runs?metric=f1_macro").get_data(as_text=True)
    assert re.search(r'<option value="f1_macro" selected>F1 score', chart)
    diff = client.get(f"/runs/diff?a={ids[0]}&b={ids[1]}").get_data(as_text=True)
    assert re.search(r'<tr class="changed"><th scope="row">max depth', diff)
    assert "B − A" in diff
    assert client.get(f"/runs/diff?a={ids[0]}&b={ids[0]}").status_code == 302


def test_runs_compared_on_a_data_set_are_in_the_runs_section(app, client, logged_in):
    # The page lists runs (its breadcrumb says "Runs ›"); its URL sits under /datasets/.
    dataset_id = add_sample(app)
    nav = re.compile(r'<nav class="nav container".*?</nav>', re.S)
    compare = nav.search(client.get(f"/datasets/{dataset_id}/runs").get_data(as_text=True))[0]
    assert '<a href="/runs" aria-current="page">Runs</a>' in compare
    assert '<a href="/datasets/">Data sets</a>' in compare
    detail = nav.search(client.get(f"/datasets/{dataset_id}").get_data(as_text=True))[0]
    assert '<a href="/datasets/" aria-current="page">Data sets</a>' in detail
    assert '<a href="/runs">Runs</a>' in detail


def test_run_page_speaks_in_words(app, client, logged_in):
    dataset_id = add_sample(app, "sample_classification.csv")
    run_id = start_run(app, client, dataset_id, "decision_tree", target="plan",
                       features=["age", "monthly_spend", "region", "device"])  # fmt: skip
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "F1 score (average of classes)" in page and "f1_macro" not in page.split(
        'data-testid="metrics"'
    )[1].split("</table>")[0].replace('data-metric="f1_macro"', "")
    assert 'data-testid="baseline"' in page and "the most common class" in page
    assert 'data-testid="tree"' in page and "<details" in page
    assert re.search(r"(region|device) is (not )?\w+", page)  # rules in words
    importances = re.search(r'data-testid="importances">(.*?)</section>', page, re.S).group(1)
    text = re.sub(r"<[^>]+>", " ", importances)
    assert "region is" in text and "=" not in text and ".missing" not in text
    assert "<picture>" in page and "theme=dark" in page and "size=narrow" in page
