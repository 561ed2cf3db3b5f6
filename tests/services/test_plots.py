"""The plot registry and the drawings, without a database: runs are built in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webapp.errors import NotFound
from webapp.models import Run
from webapp.services import plots


def make_run(results: dict, *, status="succeeded", algorithm="kmeans", task="clustering") -> Run:
    run = Run(id=1, algorithm=algorithm, task=task, status=status, results=results)
    run.finished_at = datetime(2026, 1, 1, tzinfo=UTC)
    return run


def test_registry_names_are_unique_and_titled():
    names = [plot.name for plot in plots.PLOTS]
    assert len(names) == len(set(names))
    assert all(plot.title and plot.data for plot in plots.PLOTS)


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
