"""Training runs over the API: start (202), list, read (status, progress, metrics), cancel,
retry, compare the runs on a data set and diff two, and the run's plots as PNG."""

from __future__ import annotations

from flask import Response, url_for

from webapp import jobs
from webapp.api import bp
from webapp.api.deps import current_api_user
from webapp.api.ml_schemas import (
    CompareQuery,
    DiffQuery,
    PlotLink,
    RunComparison,
    RunCreate,
    RunDiff,
    RunGroup,
    RunPage,
    RunPublic,
    RunQuery,
)
from webapp.api.routing import api_operation as _api_operation
from webapp.api.routing import parse_json_body
from webapp.db import get_session
from webapp.errors import ValidationFailed, field_error
from webapp.models import Dataset, Run
from webapp.services import model_versions
from webapp.services import plots as plot_service
from webapp.services import runs as run_service
from webapp.web import owned

PNG_RESPONSE = {
    "200": {
        "description": "The plot as a PNG image.",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def api_operation(rule, method, **kwargs):
    return _api_operation(bp, rule, method, tags=["runs"], **kwargs)


def public(run: Run) -> RunPublic:
    data = RunPublic.model_validate(run)
    data.plots = [
        PlotLink(
            name=plot.name,
            title=plot.title,
            url=url_for("api.run_plot", run_id=run.id, name=plot.name),
        )
        for plot in plot_service.available(run)
    ]
    return data


def _settings_body(model):
    """The JSON body as ``model``; our validators write sentences ("k must be between 1 and
    50."), so the 422's message is the first of them, as for the service's own checks."""
    try:
        return parse_json_body(model)
    except ValidationFailed as exc:
        if not exc.details:
            raise
        raise ValidationFailed(exc.details[0]["message"], details=exc.details) from None


@api_operation(
    "/runs",
    "POST",
    summary="Start a training run",
    body=RunCreate,
    body_parser=_settings_body,
    response=RunPublic,
    status=202,
    errors=(503,),
)
def create_run(body: RunCreate):
    """Validate the settings against the data set and queue the run (202). Follow it with
    `GET /api/v1/runs/{id}` until `status` is `succeeded`, `failed` or `cancelled`.

    A bad setting (unknown column, a target with one class, k above the row count, another
    user's data set...) answers 422 and stores nothing."""
    run = run_service.create_run(
        session=get_session(),
        user=current_api_user(),
        settings=body,
        submit=jobs.get_backend().submit,
    )
    return public(run)


@api_operation("/runs", "GET", summary="List runs", query=RunQuery, response=RunPage)
def list_runs(query: RunQuery):
    """The caller's runs, newest first; `?status=` filters."""
    runs, total = run_service.list_runs(
        session=get_session(),
        user=current_api_user(),
        limit=query.limit,
        offset=query.offset,
        status=query.status,
    )
    return RunPage(items=[public(r) for r in runs], total=total, limit=query.limit,
                   offset=query.offset)  # fmt: skip


@api_operation(
    "/runs/compare", "GET", summary="Compare runs on a data set", query=CompareQuery,
    response=RunComparison,
)  # fmt: skip
def compare_runs(query: CompareQuery):
    """Every successful run of the caller on one data set, with all parameters and metrics
    side by side, grouped by what the runs learned; `best_id` is the best run of a group by
    its `metric` on the test rows. Another user's data set answers 404."""
    dataset = owned(Dataset, query.dataset_id)
    groups = run_service.compare_on_dataset(
        session=get_session(), user=current_api_user(), dataset=dataset
    )
    return RunComparison(dataset_id=dataset.id,
                         groups=[RunGroup.model_validate(g) for g in groups])  # fmt: skip


@api_operation("/runs/diff", "GET", summary="Diff two runs", query=DiffQuery, response=RunDiff)
def diff_runs(query: DiffQuery):
    """Settings (each marked `changed` or not) and metrics (`delta` = b − a, `better`) of
    two of the caller's runs."""
    if query.a == query.b:
        raise ValidationFailed("Choose two different runs to compare.",
                               details=[field_error("b", "Choose a different run.")])  # fmt: skip
    a, b = owned(Run, query.a), owned(Run, query.b)
    return RunDiff(a=a.id, b=b.id, **model_versions.diff(a, b))


@api_operation("/runs/<int:run_id>", "GET", summary="Get a run", response=RunPublic)
def get_run(run_id: int):
    """The run's status, progress (0–1), metrics, error and, once it succeeded, its model
    and plots. A run whose worker died is reported failed with the reason."""
    return public(owned(Run, run_id))


@api_operation("/runs/<int:run_id>/cancel", "POST", summary="Cancel a run", response=RunPublic)
def cancel_run(run_id: int):
    """A queued run is cancelled at once; a running one stops at its next progress report
    (the answer then still says `running`, with `stage` "Cancelling…"). A finished run is
    left as it is."""
    run = owned(Run, run_id)
    backend = jobs.get_backend()
    return public(run_service.cancel_run(session=get_session(), run=run, on_cancel=backend.cancel))


@api_operation(
    "/runs/<int:run_id>/retry",
    "POST",
    summary="Retry a run",
    response=RunPublic,
    status=202,
    errors=(503,),
)
def retry_run(run_id: int):
    """Start a new run with the same settings (the old one is kept)."""
    run = owned(Run, run_id)
    new = run_service.retry_run(
        session=get_session(), user=current_api_user(), run=run, submit=jobs.get_backend().submit
    )
    return public(new)


@api_operation(
    "/runs/<int:run_id>/plots/<name>.png",
    "GET",
    summary="A plot of a run",
    extra_responses=PNG_RESPONSE,
)
def run_plot(run_id: int, name: str):
    """Names are listed in the run's `plots` (e.g. `clusters`, `elbow`, `confusion_matrix`,
    `feature_importances`, `tree`, `predicted_vs_actual`)."""
    run = owned(Run, run_id, load=(Run.results,))
    png = plot_service.render(run, name)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
