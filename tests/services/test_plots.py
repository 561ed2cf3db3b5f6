"""The plot registry and the drawings, without a database: runs are built in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import _empty_tables as empty_tables
from tests.conftest import make_test_app
from tests.ml_helpers import shutdown_jobs, start, upload, wait
from tests.utils.auth import ApiAuth
from webapp import security
from webapp.db import get_session
from webapp.errors import NotFound
from webapp.models import Run
from webapp.services import plot_drawing, plots


def make_run(results: dict, *, status="succeeded", algorithm="kmeans", task="clustering") -> Run:
    run = Run(id=1, algorithm=algorithm, task=task, status=status, results=results)
    run.finished_at = datetime(2026, 1, 1, tzinfo=UTC)
    return run


def test_registry_names_are_unique_and_titled():
    names = [plot.name for plot in plots.PLOTS]
    assert len(names) == len(set(names))
    assert all(plot.title and plot.data for plot in plots.PLOTS)
    # One drawing per plot, no more, no fewer.
    assert set(plot_drawing.FIGURES) == set(names)


def test_a_run_has_the_plots_whose_data_it_stored():
    run = make_run({"scatter": {"x": [1]}, "sizes": [3], "curves": None})
    assert [p.name for p in plots.available(run)] == ["clusters", "cluster_sizes"]
    run = make_run({"predicted_vs_actual": {"actual": [1]}, "feature_importances": {"n": 1}},
                   algorithm="random_forest", task="regression")  # fmt: skip
    assert [p.name for p in plots.available(run)] == [
        "predicted_vs_actual", "residuals", "feature_importances"
    ]  # fmt: skip


def test_unfinished_runs_have_no_plots_and_unknown_names_are_404():
    assert plots.available(make_run({"sizes": [3]}, status="running")) == []
    with pytest.raises(NotFound):
        plots.get(make_run({"sizes": [3]}), "elbow")


# -- user text is text -------------------------------------------------------------------------

NESTED = "$" + "\\sqrt{" * 60 + "x" + "}" * 60 + "$"
LONG = "$x$ " * 300
EVIL = ["$\\foo$", NESTED, LONG, "a_b^c", "100% {braces}"]


def evil_csv(rows: int = 90) -> bytes:
    """Columns and classes named like TeX: two numbers (so KMeans plots them by name), a
    category, a class target and a number target."""
    header = ",".join(f'"{name}"' for name in ["$\\foo$", NESTED, LONG, "class", "$y$"])
    lines = [header]
    for i in range(rows):
        label = EVIL[i % 3] if i % 3 != 1 else "$\\bar$"
        lines.append(f'{i % 17},{(i * 7) % 23},"{EVIL[i % 2]}","{label}",{i * 1.5 + (i % 5)}')
    return ("\n".join(lines) + "\n").encode()


# The six runs the drawing test renders, by test id.
RUNS = {
    "kmeans-2d": {"algorithm": "kmeans", "features": ["$\\foo$", NESTED]},
    "kmeans-pca": {"algorithm": "kmeans"},
    "tree": {"algorithm": "decision_tree", "target": "class"},
    "forest": {"algorithm": "random_forest", "target": "class", "params": {"n_estimators": 5}},
    "forest-regression": {
        "algorithm": "random_forest",
        "target": "$y$",
        "params": {"n_estimators": 5},
    },
    "tree-regression": {"algorithm": "decision_tree", "target": "$y$"},
}


@pytest.fixture(scope="module")
def trained(database_url, tmp_path_factory):
    """One upload and the six runs, trained once for the module (the tests only read them):
    ``(app, client, headers, {test id: run})``. The tables are emptied at the end, as the
    ``app`` fixture does after each test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "BCRYPT_ROUNDS", 4)  # as the suite's fast_bcrypt does
        # All six runs wait in the queue at once: above the default cap of five per user.
        app = make_test_app(
            database_url,
            tmp_path_factory.mktemp("plots") / "instance",
            MAX_ACTIVE_RUNS=len(RUNS),
            RUNS_PER_USER_AT_ONCE=2,
        )
        client = app.test_client()
        headers = ApiAuth(client, app).headers("alice")
    try:
        dataset = upload(client, headers, "tex.csv", content=evil_csv())
        started = {}
        for name, body in RUNS.items():  # queued together: the job pool trains two at a time
            response = start(client, headers, dataset_id=dataset["id"], **body)
            assert response.status_code == 202, response.get_json()
            started[name] = response.get_json()["id"]
        runs = {name: wait(client, headers, run_id, app=app) for name, run_id in started.items()}
        yield app, client, headers, runs
    finally:
        shutdown_jobs(app)
        with app.app_context():
            empty_tables(app)


@pytest.mark.parametrize("name", list(RUNS))
def test_every_plot_draws_names_that_look_like_tex_as_text(trained, name):
    app, client, headers, runs = trained
    run = runs[name]
    assert run["status"] == "succeeded", run["error"]
    assert run["plots"]
    for plot in run["plots"]:
        response = client.get(plot["url"], headers=headers)
        assert response.status_code == 200, (plot["name"], response.get_data()[:300])
    with app.app_context():
        stored = get_session().get(Run, run["id"])
        for plot in plots.available(stored):
            for theme in plots.THEMES:
                for size in plots.SIZES:
                    svg = plots.render(stored, plot.name, "svg", theme, size).decode()
                    assert svg.startswith("<?xml") and "<script" not in svg
