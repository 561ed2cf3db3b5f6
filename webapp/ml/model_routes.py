"""Model pages: versions side by side, compare two, one model's page with a prediction
form built from its input schema and a batch CSV upload, download and delete."""

from __future__ import annotations

import secrets

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.db import get_session
from webapp.downloads import attachment
from webapp.errors import AppError, ValidationFailed
from webapp.lazy import lazy_import
from webapp.ml import bp
from webapp.models import ModelVersion
from webapp.services import batch_summaries
from webapp.services import model_versions as model_service
from webapp.services.runs import ALGORITHM_LABELS
from webapp.web import owned

prediction_service = lazy_import("webapp.services.predictions")  # pandas, mlcore (webapp.lazy)
preprocessing = lazy_import("mlcore.preprocessing")


@bp.get("/models")
def models_index():
    versions, _ = model_service.list_versions(session=get_session(), user=current_user)
    groups = model_service.grouped(versions)
    return render_template("ml/models.html", groups=groups, labels=ALGORITHM_LABELS,
                           versions=versions)  # fmt: skip


@bp.get("/models/compare")
def compare_models():
    a_id, b_id = request.args.get("a", type=int), request.args.get("b", type=int)
    if not a_id or not b_id:
        flash("Choose two versions to compare.", "error")
        return redirect(url_for("ml.models_index"))
    a, b = owned(ModelVersion, a_id), owned(ModelVersion, b_id)
    try:
        comparison = model_service.compare(a, b)
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return redirect(url_for("ml.models_index"))
    return render_template("ml/compare.html", a=a, b=b, comparison=comparison,
                           labels=ALGORITHM_LABELS)  # fmt: skip


def _number_roles(version) -> dict:
    """``{column: "year" | "code"}`` for the numeric inputs whose numbers label (shown without
    digit grouping); models trained before the schema said so are judged by name and range."""
    roles = {}
    for col in version.input_schema:
        if col["kind"] == "numeric":
            role = col.get("role") or preprocessing.number_role(
                col["name"], [col["min"], col["max"]]
            )
            if role:
                roles[col["name"]] = role
    return roles


def _render_model(version, *, values=None, result=None, errors=None, csv_error=None, status=200):
    page = render_template(
        "ml/model.html",
        model=version,
        roles=_number_roles(version),
        labels=ALGORITHM_LABELS,
        dialects=prediction_service.DIALECTS,
        batch_id=secrets.token_urlsafe(12),
        values=values or {},
        result=result,
        errors=errors or {},
        csv_error=csv_error,
    )
    return page, status


@bp.get("/models/<int:model_id>")
def model_detail(model_id: int):
    return _render_model(owned(ModelVersion, model_id))


@bp.post("/models/<int:model_id>/predict")
def predict_row(model_id: int):
    version = owned(ModelVersion, model_id)
    row = {entry["name"]: request.form.get(entry["name"], "") for entry in version.input_schema}
    try:
        result = prediction_service.predict_rows(session=get_session(), version=version, rows=[row])
    except ValidationFailed as exc:
        errors = {d["field"].rsplit(".", 1)[-1]: d["message"] for d in exc.details}
        return _render_model(version, values=row, errors=errors, status=422)
    answer = {"prediction": result.predictions[0], "probabilities": None,
              "warnings": result.warnings[0] or {}}  # fmt: skip
    if result.probabilities is not None:
        answer["probabilities"] = sorted(
            zip(result.classes, result.probabilities[0], strict=True), key=lambda p: -p[1]
        )
    return _render_model(version, values=row, result=answer)


@bp.post("/models/<int:model_id>/predict.csv")
def predict_csv(model_id: int):
    """The file back with the predictions, as a download (streamed). With the page's
    ``batch_id``, the batch's summary is recorded for the page to show (see
    :mod:`webapp.services.batch_summaries`)."""
    version = owned(ModelVersion, model_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_model(version, csv_error="Choose a CSV file.", status=422)
    try:
        answer = prediction_service.predict_csv(
            session=get_session(), version=version, content=upload.read(),
            dialect=request.form.get("dialect", prediction_service.UPLOAD),
        )  # fmt: skip
    except AppError as exc:
        details = "; ".join(d["message"] for d in exc.details[:5])
        message = exc.message + (f" ({details})" if details else "")
        return _render_model(version, csv_error=message, status=exc.status)
    stem = upload.filename.rsplit(".", 1)[0] or "data"
    name = f"{stem}-predictions.csv"
    chunks = answer
    batch_id = request.form.get("batch_id")
    if batch_summaries.valid_id(batch_id):
        chunks = batch_summaries.recorded(
            answer, _summaries(), batch_id, {"model_id": version.id, "file": name}
        )
    response = attachment(chunks, name, "text/csv")
    response.content_type = answer.content_type  # the upload's encoding, not always UTF-8
    return response


def _summaries():
    return batch_summaries.store_for(current_app.config, current_app.instance_path, current_user.id)


# Polls for a batch whose upload has not arrived yet before the page stops asking (1 a second).
_MAX_WAITING_POLLS = 300


@bp.get("/models/<int:model_id>/batch-summary")
def batch_summary(model_id: int):
    """The summary of the page's last batch, as a fragment that asks again every second
    while the batch is being predicted."""
    version = owned(ModelVersion, model_id)
    batch_id = request.args.get("batch_id", "")
    polls = request.args.get("n", 0, type=int)
    record = _summaries().read(batch_id) if batch_summaries.valid_id(batch_id) else None
    if record is not None and record.get("model_id") != version.id:
        record = None
    if record is not None and _summaries().is_stale(record):
        record = {**record, "status": batch_summaries.STOPPED}
    return render_template(
        "ml/_batch_summary.html",
        model=version,
        batch_id=batch_id,
        record=record,
        polls=polls,
        waiting=record is None and polls < _MAX_WAITING_POLLS,
        next_batch_id=secrets.token_urlsafe(12),
    )


@bp.get("/models/<int:model_id>/template.csv")
def batch_template(model_id: int):
    """A CSV file with the model's input columns and an example row, to fill in."""
    version = owned(ModelVersion, model_id)
    name = prediction_service.template_name(version)
    return attachment(prediction_service.template_csv(version), name, "text/csv")


@bp.get("/models/<int:model_id>/download")
def download_model(model_id: int):
    version = owned(ModelVersion, model_id, load=(ModelVersion.file,))
    return attachment(version.file, model_service.file_name(version), "application/zip")


@bp.get("/models/<int:model_id>/delete")
def confirm_delete_model(model_id: int):
    """Deleting cannot be undone: ask first (as data sets and boards do)."""
    return render_template("ml/delete_model.html", model=owned(ModelVersion, model_id),
                           labels=ALGORITHM_LABELS)  # fmt: skip


@bp.post("/models/<int:model_id>/delete")
def delete_model(model_id: int):
    version = owned(ModelVersion, model_id)
    label = f"{version.name} v{version.version}"
    model_service.delete_version(session=get_session(), version=version)
    flash(f"Deleted {label}.", "success")
    return redirect(url_for("ml.models_index"))
