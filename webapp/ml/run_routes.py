"""Run pages: the list, the form per algorithm, the live run page, plots, downloads.

The run page polls a fragment (``_live.html``) that replaces itself every second while the
run is queued or running, and carries the results once it is finished, so the page shows
them without a reload; then it stops polling.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp import jobs
from webapp.db import get_session
from webapp.downloads import attachment
from webapp.errors import NotFound, ValidationFailed
from webapp.ml import bp
from webapp.ml.forms import settings_from_form
from webapp.models import Dataset, ModelVersion, Run
from webapp.services import datasets as dataset_service
from webapp.services import plots as plot_service
from webapp.services import predictions as prediction_service
from webapp.services import runs as run_service
from webapp.services.runs import ALGORITHM_LABELS, DEFAULT_PARAMS
from webapp.web import is_htmx, owned

HELP = {
    "kmeans": "Groups similar rows into k clusters. No target: it finds structure by itself. "
    "Numbers are standardised first so that no column dominates.",
    "decision_tree": "Learns yes/no questions about the features that predict the target. "
    "Easy to read; a shallow tree generalises better.",
    "random_forest": "Many trees, each on a random sample of rows and features, voting "
    "together. Usually more accurate than one tree, less readable.",
}


@bp.before_request
@login_required
def _require_login():
    """Every training page needs a logged-in user."""


@bp.get("/runs")
def runs_index():
    runs, total = run_service.list_runs(session=get_session(), user=current_user, limit=100)
    return render_template("ml/runs.html", runs=runs, total=total, labels=ALGORITHM_LABELS)


def _form_context(dataset_id, algorithm, values=None, errors=None):
    session = get_session()
    datasets = dataset_service.list_datasets(session=session, user=current_user)
    dataset = None
    if dataset_id:
        try:
            dataset = owned(Dataset, dataset_id, load=dataset_service.DETAILS)
        except NotFound:
            dataset = None
    if dataset is None and datasets and not dataset_id:
        dataset = owned(Dataset, datasets[0].id, load=dataset_service.DETAILS)
    algorithm = algorithm if algorithm in ALGORITHM_LABELS else "kmeans"
    columns = dataset.profile["columns"] if dataset else []
    return {
        "datasets": datasets,
        "dataset": dataset,
        "algorithm": algorithm,
        "labels": ALGORITHM_LABELS,
        "help": HELP,
        "columns": columns,
        "defaults": DEFAULT_PARAMS[algorithm],
        "values": values,
        "errors": errors or {},
        "default_name": run_service.default_model_name(dataset, algorithm) if dataset else "",
    }


@bp.get("/runs/new")
def new_run():
    dataset_id = request.args.get("dataset_id", type=int)
    algorithm = request.args.get("algorithm", "kmeans")
    context = _form_context(dataset_id, algorithm)
    if is_htmx():
        return render_template("ml/_run_form.html", **context)
    return render_template("ml/new_run.html", **context)


@bp.post("/runs/new")
def create_run():
    dataset_id = request.form.get("dataset_id", type=int) or 0
    algorithm = request.form.get("algorithm", "")
    settings = settings_from_form(request.form, dataset_id=dataset_id, algorithm=algorithm)
    # The checkboxes start all ticked; the target chosen above is left out, not an error.
    settings.features = [f for f in settings.features or [] if f != settings.target]
    try:
        if not settings.features:
            raise ValidationFailed(
                "Choose at least one feature.",
                details=[{"field": "features", "message": "Choose at least one feature."}],
            )
        run = run_service.create_run(
            session=get_session(),
            user=current_user,
            settings=settings,
            submit=jobs.get_backend().submit,
        )
    except ValidationFailed as exc:
        errors = {d["field"]: d["message"] for d in exc.details} or {"form": exc.message}
        errors.setdefault("form", exc.message)
        context = _form_context(dataset_id, algorithm, values=request.form, errors=errors)
        return render_template("ml/new_run.html", **context), 422
    return redirect(url_for("ml.run_detail", run_id=run.id))


def _live_context(run):
    context = {"run": run, "labels": ALGORITHM_LABELS, "plots": [], "model": None}
    if run.status == "succeeded":
        context["plots"] = plot_service.available(run)
        context["titles"] = plot_service.PLOT_TITLES
        context["model"] = run.model_version
    if run.status == "queued":
        # Users' most common trouble with job queues: nothing runs them. Say so.
        context["no_worker"] = jobs.get_backend().worker_count() == 0
    return context


@bp.get("/runs/<int:run_id>")
def run_detail(run_id: int):
    run = owned(Run, run_id, load=(Run.results,))
    return render_template("ml/run.html", **_live_context(run))


@bp.get("/runs/<int:run_id>/live")
def run_live(run_id: int):
    """The self-replacing status fragment (with the results once the run is finished)."""
    run = owned(Run, run_id, load=(Run.results,))
    return render_template("ml/_live.html", **_live_context(run))


@bp.post("/runs/<int:run_id>/cancel")
def cancel_run(run_id: int):
    run = owned(Run, run_id)
    run_service.cancel_run(session=get_session(), run=run, on_cancel=jobs.get_backend().cancel)
    if is_htmx():
        return render_template(
            "ml/_live.html", **_live_context(owned(Run, run_id, load=(Run.results,)))
        )
    return redirect(url_for("ml.run_detail", run_id=run_id))


@bp.post("/runs/<int:run_id>/retry")
def retry_run(run_id: int):
    run = owned(Run, run_id)
    try:
        new = run_service.retry_run(
            session=get_session(), user=current_user, run=run, submit=jobs.get_backend().submit
        )
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return redirect(url_for("ml.run_detail", run_id=run_id))
    return redirect(url_for("ml.run_detail", run_id=new.id))


@bp.get("/runs/<int:run_id>/plots/<name>.png")
def run_plot(run_id: int, name: str):
    run = owned(Run, run_id, load=(Run.results,))
    response = Response(plot_service.render(run, name), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/runs/<int:run_id>/clusters.csv")
def run_clusters_csv(run_id: int):
    """The data set with a ``cluster`` column appended (KMeans runs)."""
    run = owned(Run, run_id)
    version: ModelVersion | None = run.model_version
    if run.algorithm != "kmeans" or version is None:
        raise NotFound("This run has no clustering model to label the data with.")
    if run.dataset is None:
        raise NotFound("The data set of this run was deleted.")
    session = get_session()
    frame = dataset_service.load_dataframe(session=session, dataset=run.dataset)
    chunks = prediction_service.dataset_with_clusters(session=session, version=version, frame=frame)
    return attachment(chunks, f"{run.dataset.name}-clusters.csv", "text/csv")
