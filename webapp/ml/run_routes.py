"""Run pages: the list, the form per algorithm, the live run page, plots, downloads.

The run page polls a fragment (``_live.html``) that replaces itself every second while the
run is queued or running, and carries the results once it is finished, so the page shows
them without a reload; then it stops polling.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp import jobs
from webapp.db import get_session, utcnow
from webapp.downloads import attachment
from webapp.errors import NotFound, ValidationFailed
from webapp.lazy import lazy_import
from webapp.ml import bp
from webapp.ml.forms import settings_from_form
from webapp.models import Dataset, ModelVersion, Run
from webapp.models.ml import QUEUED, RUNNING, SUCCEEDED
from webapp.services import datasets as dataset_service
from webapp.services import model_versions as model_service
from webapp.services import plots as plot_service
from webapp.services import runs as run_service
from webapp.services.run_settings import default_params
from webapp.services.runs import ALGORITHM_LABELS
from webapp.web import field_messages, is_htmx, owned

prediction_service = lazy_import("webapp.services.predictions")  # pandas, mlcore (webapp.lazy)

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
        "defaults": default_params(algorithm),
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
    try:
        settings = settings_from_form(request.form, dataset_id=dataset_id, algorithm=algorithm)
        run = run_service.create_run(
            session=get_session(),
            user=current_user,
            settings=settings,
            submit=jobs.get_backend().submit,
        )
    except ValidationFailed as exc:
        errors = field_messages(exc)
        context = _form_context(dataset_id, algorithm, values=request.form, errors=errors)
        return render_template("ml/new_run.html", **context), 422
    return redirect(url_for("ml.run_detail", run_id=run.id))


def _timing(run) -> dict:
    """Seconds waited, trained and (from the pace so far) still to go."""
    now = utcnow()
    timing = {"waited": None, "elapsed": None, "left": None}
    if run.started_at is None:
        timing["waited"] = ((run.finished_at or now) - run.created_at).total_seconds()
        return timing
    elapsed = ((run.finished_at or now) - run.started_at).total_seconds()
    timing["elapsed"] = elapsed
    # Early progress is loading and preparing, a poor guide to the pace: wait for 15%.
    if run.status == RUNNING and run.progress >= 0.15:
        timing["left"] = elapsed * (1 - run.progress) / run.progress
    return timing


def _live_context(run):
    context = {"run": run, "labels": ALGORITHM_LABELS, "plots": [], "model": None,
               "timing": _timing(run)}  # fmt: skip
    if run.status == SUCCEEDED:
        context["plots"] = plot_service.available(run)
        context["model"] = run.model_version
    if run.status == QUEUED:
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


@bp.get("/runs/<int:run_id>/plots/<name>.<any(svg, png):fmt>")
def run_plot(run_id: int, name: str, fmt: str):
    """A plot; ``?theme=dark`` and ``?size=narrow`` pick the variant (see plots.py)."""
    run = owned(Run, run_id, load=(Run.results,))
    theme, size = request.args.get("theme", "light"), request.args.get("size", "wide")
    body = plot_service.render(run, name, fmt, theme, size)
    response = Response(body, mimetype=plot_service.FORMATS[fmt])
    response.headers["Cache-Control"] = "private, max-age=3600"
    # An SVG opened on its own is a document: it may carry styles, never scripts.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
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


@bp.get("/datasets/<int:dataset_id>/runs")
def compare_runs(dataset_id: int):
    """Every successful run on one data set side by side, a chart of one metric across
    them, the best marked; pick two to diff."""
    dataset = owned(Dataset, dataset_id)
    groups = run_service.compare_on_dataset(
        session=get_session(), user=current_user, dataset=dataset
    )
    return render_template("ml/compare_runs.html", dataset=dataset, groups=groups,
                           chosen=request.args.get("metric"), labels=ALGORITHM_LABELS)  # fmt: skip


@bp.get("/runs/diff")
def diff_runs():
    a_id, b_id = request.args.get("a", type=int), request.args.get("b", type=int)
    if not a_id or not b_id or a_id == b_id:
        flash("Choose two different runs to compare.", "error")
        return redirect(request.referrer or url_for("ml.runs_index"))
    a, b = owned(Run, a_id), owned(Run, b_id)
    comparison = model_service.diff(a, b)
    return render_template("ml/run_diff.html", a=a, b=b, comparison=comparison,
                           labels=ALGORITHM_LABELS)  # fmt: skip
