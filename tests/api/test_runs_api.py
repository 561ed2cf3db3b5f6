"""Training runs over the API: start, follow, results, plots, cancel, retry, bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.ml_helpers import shutdown_jobs, start, train, upload, wait
from webapp.db import get_session
from webapp.models import ModelVersion, Run


@pytest.fixture(autouse=True)
def _stop_jobs(app):
    yield
    shutdown_jobs(app)


@pytest.fixture
def clustering(client, user_headers) -> dict:
    return upload(client, user_headers, "sample_data.csv")


@pytest.fixture
def classification(client, user_headers) -> dict:
    return upload(client, user_headers, "sample_classification.csv")


def counts(app) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (
            session.scalar(select(func.count(Run.id))),
            session.scalar(select(func.count(ModelVersion.id))),
        )


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def test_kmeans_run_succeeds_with_metrics_plots_and_model(app, client, user_headers, clustering):
    response = start(
        client, user_headers, dataset_id=clustering["id"], algorithm="kmeans", params={"k": 3}
    )
    assert response.status_code == 202
    queued = response.get_json()
    assert queued["status"] in ("queued", "running", "succeeded")
    assert queued["features"] == ["age", "annual_income_k", "spending_score"]
    run = wait(client, user_headers, queued["id"], app=app)
    assert run["status"] == "succeeded", run["error"]
    assert run["progress"] == 1
    assert set(run["metrics"]) == {"mean_sq_distance", "silhouette"}
    assert set(run["train_metrics"]) == {"mean_sq_distance", "silhouette"}
    assert run["model_id"] is not None
    names = [p["name"] for p in run["plots"]]
    assert names == ["clusters", "elbow", "silhouette", "cluster_sizes"]
    for plot in run["plots"]:
        png = client.get(plot["url"], headers=user_headers)
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        client.get(f"/api/v1/runs/{run['id']}/plots/tree.png", headers=user_headers).status_code
        == 404
    )


def test_suggest_k_picks_k(app, client, user_headers, clustering):
    run = train(client, user_headers, app=app, dataset_id=clustering["id"], algorithm="kmeans",
                params={"suggest_k": True})  # fmt: skip
    assert run["status"] == "succeeded", run["error"]
    assert run["params"]["suggest_k"] is True


def test_random_forest_classification(app, client, user_headers, classification):
    run = train(client, user_headers, app=app, dataset_id=classification["id"],
                algorithm="random_forest", target="plan", params={"n_estimators": 15})  # fmt: skip
    assert run["status"] == "succeeded", run["error"]
    assert run["task"] == "classification"
    assert "customer_id" not in run["features"]
    assert set(run["metrics"]) == {
        "accuracy", "precision_macro", "recall_macro", "f1_macro", "oob_score"
    }  # fmt: skip
    assert 0 <= run["metrics"]["accuracy"] <= 1
    names = [p["name"] for p in run["plots"]]
    assert names == ["confusion_matrix", "feature_importances", "trees_curve"]
    for plot in run["plots"]:
        assert client.get(plot["url"], headers=user_headers).status_code == 200


def test_decision_tree_regression(app, client, user_headers):
    dataset = upload(client, user_headers, "sample_regression.csv")
    run = train(client, user_headers, app=app, dataset_id=dataset["id"],
                algorithm="decision_tree", target="price_k")  # fmt: skip
    assert run["status"] == "succeeded", run["error"]
    assert run["task"] == "regression"
    assert set(run["metrics"]) == {"r2", "mae", "rmse"}
    names = [p["name"] for p in run["plots"]]
    assert names == ["tree", "predicted_vs_actual", "residuals", "feature_importances"]
    for plot in run["plots"]:
        assert client.get(plot["url"], headers=user_headers).status_code == 200


def test_task_override_to_classification(app, client, user_headers, classification):
    run = train(client, user_headers, app=app, dataset_id=classification["id"],
                algorithm="decision_tree", target="visits_per_month",
                task="classification")  # fmt: skip
    assert run["status"] == "succeeded", run["error"]
    assert run["task"] == "classification"


def test_list_runs_paginated(app, client, user_headers, clustering):
    for k in (2, 3, 4):
        train(client, user_headers, app=app, dataset_id=clustering["id"], algorithm="kmeans",
              params={"k": k})  # fmt: skip
    page = client.get("/api/v1/runs?limit=2", headers=user_headers).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    assert page["items"][0]["params"]["k"] == 4  # newest first
    rest = client.get("/api/v1/runs/?limit=2&offset=2", headers=user_headers).get_json()
    assert [r["params"]["k"] for r in rest["items"]] == [2]
    done = client.get("/api/v1/runs?status=succeeded", headers=user_headers).get_json()
    assert done["total"] == 3
    assert error_of(client.get("/api/v1/runs?limit=500", headers=user_headers), 422)


def test_model_versions_count_up(app, client, user_headers, clustering):
    first = train(client, user_headers, app=app, dataset_id=clustering["id"],
                  algorithm="kmeans", model_name="Segments")  # fmt: skip
    second = train(client, user_headers, app=app, dataset_id=clustering["id"],
                   algorithm="kmeans", model_name="Segments", params={"k": 4})  # fmt: skip
    a = client.get(f"/api/v1/models/{first['model_id']}", headers=user_headers).get_json()
    b = client.get(f"/api/v1/models/{second['model_id']}", headers=user_headers).get_json()
    assert (a["name"], a["version"]) == ("Segments", 1)
    assert (b["name"], b["version"]) == ("Segments", 2)


def test_cancel_queued_run_at_once(app, client, user_headers, clustering, monkeypatch):
    from webapp import jobs

    monkeypatch.setattr(jobs.InProcessBackend, "submit", lambda self, run: None)
    run = start(client, user_headers, dataset_id=clustering["id"], algorithm="kmeans").get_json()
    assert run["status"] == "queued"
    cancelled = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=user_headers)
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    # A job that starts later skips it.
    from webapp.services import training

    with app.app_context():
        assert training.execute_run(session=get_session(), run_id=run["id"], worker="t") is None
    again = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=user_headers).get_json()
    assert again["status"] == "cancelled"


def test_cancel_running_run_stops_at_next_progress_report(app, client, user_headers,
                                                          classification, monkeypatch):  # fmt: skip
    """The cancel flag is set while the forest grows; its next tree report stops it."""
    from webapp import jobs
    from webapp.services import training

    monkeypatch.setattr(jobs.InProcessBackend, "submit", lambda self, run: None)
    run = start(client, user_headers, dataset_id=classification["id"],
                algorithm="random_forest", target="plan",
                params={"n_estimators": 50}).get_json()  # fmt: skip
    original = training.Progress.__call__
    calls = []

    def report(self, fraction, stage=None, *, force=False):
        calls.append(stage)
        if len(calls) == 5:  # mid-training: the user presses Cancel
            response = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=user_headers)
            assert response.get_json()["stage"] == "Cancelling…"
        return original(self, fraction, stage, force=True)

    monkeypatch.setattr(training.Progress, "__call__", report)
    with app.app_context():
        status = training.execute_run(session=get_session(), run_id=run["id"], worker="t")
    assert status == "cancelled"
    assert len(calls) == 5
    final = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert final["status"] == "cancelled" and final["model_id"] is None
    assert counts(app)[1] == 0


def test_retry_makes_a_new_run_with_the_same_settings(app, client, user_headers, clustering):
    first = train(client, user_headers, app=app, dataset_id=clustering["id"], algorithm="kmeans",
                  params={"k": 2}, random_state=7, test_size=0.3)  # fmt: skip
    response = client.post(f"/api/v1/runs/{first['id']}/retry", headers=user_headers)
    assert response.status_code == 202
    retry = wait(client, user_headers, response.get_json()["id"], app=app)
    assert retry["id"] != first["id"] and retry["retry_of_id"] == first["id"]
    for key in ("params", "random_state", "test_size", "features", "algorithm"):
        assert retry[key] == first[key]
    assert retry["metrics"] == first["metrics"]  # same seed, same data: same model


def test_stale_heartbeat_fails_the_run(app, client, user_headers, clustering, monkeypatch):
    from datetime import timedelta

    from webapp import jobs
    from webapp.db import utcnow

    monkeypatch.setattr(jobs.InProcessBackend, "submit", lambda self, run: None)
    run = start(client, user_headers, dataset_id=clustering["id"], algorithm="kmeans").get_json()
    with app.app_context():
        session = get_session()
        row = session.get(Run, run["id"])
        row.status, row.heartbeat_at = "running", utcnow() - timedelta(minutes=5)
        session.commit()
    assert jobs.sweep(app).dead == 1  # nobody needs to look at the run
    got = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert got["status"] == "failed"
    assert "stopped responding" in got["error"]


def test_in_process_start_up_fails_runs_of_a_dead_process(app, client, user_headers, clustering,
                                                          monkeypatch):  # fmt: skip
    from webapp import jobs

    monkeypatch.setattr(jobs.InProcessBackend, "submit", lambda self, run: None)
    run = start(client, user_headers, dataset_id=clustering["id"], algorithm="kmeans").get_json()
    with app.app_context():
        session = get_session()
        row = session.get(Run, run["id"])
        row.status, row.worker = "running", f"inprocess:{jobs.HOST}:999999999"
        session.commit()
    app.extensions.pop("jobs", None)  # a new process: its pool starts afresh
    app.config["RUN_SWEEP_SECONDS"] = 30
    jobs.start_sweeper(app)  # as create_app does at start-up: the first pass runs at once
    jobs.stop_sweeper(app)  # and is waited for here
    got = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert got["status"] == "failed"
    assert "server restarted" in got["error"]


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"algorithm": "kmeans", "params": {"k": 400}}, "params.k", "larger than the 300 rows"),
        ({"algorithm": "kmeans", "params": {"k": 0}}, "params.k", "between 1 and 50"),
        ({"algorithm": "kmeans", "features": ["age", "nope"]}, "features", "'nope'"),
        ({"algorithm": "kmeans", "target": "age"}, "target", "leave the target empty"),
        ({"algorithm": "decision_tree"}, "target", "Choose the target"),
        ({"algorithm": "decision_tree", "target": "ghost"}, "target", "no column 'ghost'"),
        ({"algorithm": "decision_tree", "target": "age", "features": ["age"]}, "features",
         "cannot also be a feature"),
        ({"algorithm": "random_forest", "target": "age", "params": {"n_estimators": 0}},
         "params.n_estimators", "between 1 and 500"),
        ({"algorithm": "decision_tree", "target": "age", "params": {"criterion": "magic"}},
         "params.criterion", "criterion"),
        ({"algorithm": "kmeans", "params": {"depth": 3}}, "params", "Unknown parameter"),
    ],
)  # fmt: skip
def test_bad_settings_are_422_and_store_nothing(app, client, user_headers, clustering, body,
                                                field, words):  # fmt: skip
    response = start(client, user_headers, dataset_id=clustering["id"], **body)
    error = error_of(response, 422)
    assert error["details"][0]["field"] == field
    assert words in error["message"]
    assert counts(app) == (0, 0)


def test_target_with_one_class_is_422(app, client, user_headers):
    content = b"x,label\n" + b"".join(f"{i % 5},same\n".encode() for i in range(30))
    dataset = upload(client, user_headers, "one_class.csv", content=content)
    response = start(client, user_headers, dataset_id=dataset["id"], algorithm="decision_tree",
                     target="label")  # fmt: skip
    error = error_of(response, 422)
    assert "single class" in error["message"]
    assert counts(app) == (0, 0)


def test_regression_on_text_target_is_422(app, client, user_headers, classification):
    response = start(client, user_headers, dataset_id=classification["id"],
                     algorithm="decision_tree", target="plan", task="regression")  # fmt: skip
    assert "numeric for regression" in error_of(response, 422)["message"]


def test_schema_errors_are_422(client, user_headers, clustering):
    for body in (
        {"dataset_id": clustering["id"], "algorithm": "svm"},
        {"dataset_id": clustering["id"], "algorithm": "kmeans", "test_size": 0.9},
        {"algorithm": "kmeans"},
    ):
        error_of(start(client, user_headers, **body), 422)


def test_another_users_data_set_is_422(app, client, user_headers, other_headers, clustering):
    response = start(client, other_headers, dataset_id=clustering["id"], algorithm="kmeans")
    assert error_of(response, 422)["details"][0]["field"] == "dataset_id"
    assert counts(app) == (0, 0)


def test_another_users_run_is_404_for_every_verb(app, client, user_headers, other_headers,
                                                 clustering):  # fmt: skip
    run = train(client, user_headers, app=app, dataset_id=clustering["id"], algorithm="kmeans")
    base = f"/api/v1/runs/{run['id']}"
    for method, url in (
        ("get", base),
        ("post", base + "/cancel"),
        ("post", base + "/retry"),
        ("get", base + "/plots/clusters.png"),
    ):
        assert error_of(getattr(client, method)(url, headers=other_headers), 404)
    page = client.get("/api/v1/runs", headers=other_headers).get_json()
    assert page["total"] == 0
    for url in ("/api/v1/runs/0", "/api/v1/runs/99999999999999999999"):
        assert client.get(url, headers=user_headers).status_code == 404


def test_runs_need_a_token(client):
    assert error_of(client.get("/api/v1/runs"), 401)
    assert error_of(client.post("/api/v1/runs", json={}), 401)


def test_deleted_data_set_fails_retry_clearly(app, client, user_headers, clustering):
    run = train(client, user_headers, app=app, dataset_id=clustering["id"], algorithm="kmeans")
    assert (
        client.delete(f"/api/v1/datasets/{clustering['id']}", headers=user_headers).status_code
        == 204
    )
    kept = client.get(f"/api/v1/runs/{run['id']}", headers=user_headers).get_json()
    assert kept["status"] == "succeeded" and kept["dataset_id"] is None
    response = client.post(f"/api/v1/runs/{run['id']}/retry", headers=user_headers)
    assert "deleted" in error_of(response, 422)["message"]


@pytest.mark.parametrize(
    ("filename", "target", "task", "expected"),
    [("sample_classification.csv", "plan", "classification", "sqrt"),
     ("sample_regression.csv", "price_k", "regression", "all")],
)  # fmt: skip
def test_forest_features_per_split_default_by_task(app, client, user_headers, filename, target,
                                                   task, expected):  # fmt: skip
    """scikit-learn's defaults: sqrt(features) per split for classes, all for a number."""
    dataset = upload(client, user_headers, filename)
    run = train(client, user_headers, app=app, dataset_id=dataset["id"],
                algorithm="random_forest", target=target, params={"n_estimators": 10})  # fmt: skip
    assert run["status"] == "succeeded", run["error"]
    assert (run["task"], run["params"]["max_features"]) == (task, expected)
    model = client.get(f"/api/v1/models/{run['model_id']}", headers=user_headers).get_json()
    assert model["params"]["max_features"] == expected
    with app.app_context():
        from webapp.services import model_versions

        version = get_session().get(ModelVersion, run["model_id"])
        fitted = model_versions.load(session=get_session(), version=version).model
        assert fitted.max_features == (None if expected == "all" else expected)
    chosen = train(client, user_headers, app=app, dataset_id=dataset["id"],
                   algorithm="random_forest", target=target,
                   params={"n_estimators": 10, "max_features": "log2"})  # fmt: skip
    assert chosen["params"]["max_features"] == "log2"


def test_compare_the_runs_on_a_data_set_and_diff_two(app, client, user_headers, other_headers,
                                                     classification):  # fmt: skip
    runs = [train(client, user_headers, app=app, dataset_id=classification["id"],
                  algorithm="decision_tree", target="plan", params={"max_depth": depth})
            for depth in (1, 5)]  # fmt: skip
    clusters = train(client, user_headers, app=app, dataset_id=classification["id"],
                     algorithm="kmeans", features=["age", "monthly_spend"])  # fmt: skip
    url = f"/api/v1/runs/compare?dataset_id={classification['id']}"
    response = client.get(url, headers=user_headers)
    assert response.status_code == 200, response.get_json()
    groups = {(g["task"], g["target"]): g for g in response.get_json()["groups"]}
    trees = groups[("classification", "plan")]
    assert [r["id"] for r in trees["runs"]] == [r["id"] for r in runs]
    assert trees["metric"] == "accuracy" and "max_depth" in trees["params"]
    best = max(runs, key=lambda r: r["metrics"]["accuracy"])
    assert trees["best_id"] == best["id"]
    assert [r["id"] for r in groups[("clustering", None)]["runs"]] == [clusters["id"]]
    assert error_of(client.get(url, headers=other_headers), 404)

    diff = client.get(f"/api/v1/runs/diff?a={runs[0]['id']}&b={runs[1]['id']}",
                      headers=user_headers).get_json()  # fmt: skip
    changed = {p["name"] for p in diff["params"] if p["changed"]}
    assert changed == {"max_depth"}
    accuracy = next(m for m in diff["metrics"] if m["name"] == "accuracy")
    assert accuracy["delta"] == pytest.approx(accuracy["b"] - accuracy["a"])
    same = client.get(f"/api/v1/runs/diff?a={runs[0]['id']}&b={runs[0]['id']}",
                      headers=user_headers)  # fmt: skip
    assert error_of(same, 422)["details"][0]["field"] == "b"
    other = client.get(f"/api/v1/runs/diff?a={runs[0]['id']}&b={runs[1]['id']}",
                       headers=other_headers)  # fmt: skip
    assert error_of(other, 404)
