"""Choosing a target no classifier can learn is a 422 on ``target`` when the run is created,
in our words, with nothing stored (issue 13, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.ml_helpers import shutdown_jobs, start, upload
from webapp.db import get_session
from webapp.models import Run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


@pytest.fixture(autouse=True)
def _stop_jobs(app):
    yield
    shutdown_jobs(app)


@pytest.fixture
def passengers(client, user_headers) -> dict:
    content = (FIXTURES / "passengers.csv").read_bytes()
    return upload(client, user_headers, "passengers.csv", content=content)


@pytest.mark.parametrize(
    ("target", "task", "words"),
    [
        ("name", None, ["different value in every row", "identifier or a name", "repeat"]),
        ("comment", None, ["free text", "Choose a column whose values repeat"]),
        ("fare", "classification", ["Choose regression"]),
    ],
)
@pytest.mark.parametrize("algorithm", ["decision_tree", "random_forest"])
def test_an_unlearnable_target_is_a_422_before_any_run_is_stored(
    app, client, user_headers, passengers, algorithm, target, task, words
):
    body = {"dataset_id": passengers["id"], "algorithm": algorithm, "target": target}
    if task:
        body["task"] = task
    response = start(client, user_headers, **body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["details"][0]["field"] == "target"
    assert all(word in error["message"] for word in words), error["message"]
    assert "y_true" not in error["message"]
    with app.app_context():
        assert get_session().scalar(select(func.count(Run.id))) == 0


def test_a_learnable_target_of_the_same_table_starts(client, user_headers, passengers):
    body = {"dataset_id": passengers["id"], "algorithm": "decision_tree", "target": "survived"}
    assert start(client, user_headers, **body).status_code == 202
