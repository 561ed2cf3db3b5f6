"""Data set pages. Routes parse forms and call ``services.datasets``; a bad file or bad
options re-render the page with the service's message as a form error (never a half-stored
data set, never a 500)."""

from __future__ import annotations

import math
import re

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.datasets import bp
from webapp.datasets.forms import DeleteForm, ParseForm, RenameForm, UploadForm, header_label
from webapp.db import get_session
from webapp.errors import AppError, PayloadTooLarge
from webapp.models import Dataset
from webapp.services import datasets as dataset_service
from webapp.services.csv_parsing import DECIMALS, DELIMITERS
from webapp.services.datasets import DETAILS
from webapp.web import apply_service_errors, owned

PREVIEW_ROWS = 20


# Whole numbers that label rather than measure (see mlcore's number_role): no digit grouping.
PLAIN_ROLES = frozenset({"year", "code", "identifier"})


@bp.app_template_filter("ds_value")
def format_value(value, role: str | None = None, decimals: int | None = None) -> str:
    """A value for people: ``1,234.5``, ``0.0123``, ``2023-01-13`` (midnight dropped). With
    the column's ``role``, years and codes without grouping (``2007``); with its ``decimals``,
    every number of a column to the same places (``14.0`` beside ``18.6``)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        grouping = "" if role in PLAIN_ROLES else ","
        if decimals is not None and math.isfinite(value):
            return f"{value:{grouping}.{decimals}f}"
        if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
            return f"{int(value):{grouping}}"
        if abs(value) >= 1000:
            return f"{value:{grouping}.1f}"
        return f"{value:.4g}"
    text = str(value)
    if len(text) == 20 and text.endswith("T00:00:00Z"):
        return text[:10]
    return text.replace("T", " ").removesuffix("Z") if _is_iso_instant(text) else text


@bp.app_template_filter("breakable")
def breakable(name: str) -> Markup:
    """A column name that may wrap after ``_``, ``-``, ``.`` or ``/`` (long snake_case
    names in a narrow card) rather than overflow or be cut."""
    return Markup("<wbr>").join(escape(part) for part in re.split(r"(?<=[_\-./])(?=.)", str(name)))


def column_formats(profile: dict, names: list) -> list[tuple]:
    """``(role, decimals)`` for each of ``names``, from the data set's profile."""
    known = {
        column["name"]: ((column.get("details") or {}).get("role"), column.get("decimals"))
        for column in profile.get("columns", [])
    }
    return [known.get(name, (None, None)) for name in names]


def _is_iso_instant(text: str) -> bool:
    return len(text) == 20 and text[4] == "-" and text[10] == "T" and text.endswith("Z")


@bp.before_request
@login_required
def _require_login():
    """Every data set page needs a logged-in user."""


def _limits() -> dataset_service.DatasetLimits:
    return dataset_service.DatasetLimits.from_config(current_app.config)


def _render_index(form: UploadForm, status: int = 200):
    session = get_session()
    datasets = dataset_service.list_datasets(session=session, user=current_user)
    page = render_template(
        "datasets/index.html",
        datasets=datasets,
        form=form,
        samples=dataset_service.available_samples(),
        max_upload_bytes=current_app.config.get("MAX_CONTENT_LENGTH") or 0,
        limits=_limits(),
    )
    return page, status


def _render_detail(dataset, *, parse_form=None, rename_form=None, status: int = 200):
    parse_form = parse_form or ParseForm(formdata=None)
    parse_form.set_choices(dataset.detected_options, dataset.parse_options)
    if parse_form.encoding.data is None:
        parse_form.set_current(dataset.parse_options)
    preview = dataset.preview or {"columns": [], "rows": []}
    page = render_template(
        "datasets/detail.html",
        dataset=dataset,
        profile=dataset.profile or {},
        preview=preview,
        formats=column_formats(dataset.profile or {}, preview["columns"]),
        preview_rows=PREVIEW_ROWS,
        parse_form=parse_form,
        rename_form=rename_form or RenameForm(formdata=None, name=dataset.name),
        delimiters=DELIMITERS,
        decimals=DECIMALS,
        header_label=header_label,
        train_url=url_for("ml.new_run", dataset_id=dataset.id),
    )
    return page, status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    """An upload over MAX_CONTENT_LENGTH: the list page with the reason on the form."""
    if not current_user.is_authenticated:  # CSRF checks read the body before log-in is checked
        return current_app.login_manager.unauthorized()
    form = UploadForm(formdata=None)
    limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / (1024 * 1024)
    too_large = PayloadTooLarge(f"The file is larger than the {limit_mb:g} MB limit.")
    apply_service_errors(form, too_large, message_to="file")
    return _render_index(form, too_large.status)


@bp.get("/")
def index():
    return _render_index(UploadForm(formdata=None))


@bp.post("/")
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return _render_index(form, 422)
    upload = form.file.data
    try:
        dataset = dataset_service.create_dataset(
            session=get_session(),
            user=current_user,
            filename=upload.filename or "upload.csv",
            content=upload.read(),
            name=form.name.data,
            limits=_limits(),
        )
    except AppError as exc:
        get_session().rollback()
        apply_service_errors(form, exc, message_to="file")
        return _render_index(form, exc.status)
    flash(
        f"Uploaded “{dataset.name}”: {dataset.n_rows:,} rows, {dataset.n_columns} columns.",
        "success",
    )
    return redirect(url_for("datasets.detail", dataset_id=dataset.id))


@bp.post("/samples/<sample>")
def load_sample(sample: str):
    form = DeleteForm()  # only the CSRF token
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("datasets.index"))
    dataset = dataset_service.create_sample_dataset(
        session=get_session(), user=current_user, sample=sample, limits=_limits()
    )
    flash(f"Loaded the sample “{dataset.name}”.", "success")
    return redirect(url_for("datasets.detail", dataset_id=dataset.id))


@bp.get("/<int:dataset_id>")
def detail(dataset_id: int):
    return _render_detail(owned(Dataset, dataset_id, load=DETAILS))


@bp.post("/<int:dataset_id>/parse")
def reparse(dataset_id: int):
    dataset = owned(Dataset, dataset_id, load=DETAILS)
    form = ParseForm()
    form.set_choices(dataset.detected_options, dataset.parse_options)
    if not form.validate_on_submit():
        return _render_detail(dataset, parse_form=form, status=422)
    try:
        dataset_service.reparse_dataset(
            session=get_session(), dataset=dataset, overrides=form.overrides(), limits=_limits()
        )
    except AppError as exc:
        get_session().rollback()
        apply_service_errors(form, exc, message_to="form")
        form.form_errors.append("The data set was not changed.")
        return _render_detail(
            owned(Dataset, dataset_id, load=DETAILS), parse_form=form, status=exc.status
        )
    flash("Parsed again with the new options.", "success")
    return redirect(url_for("datasets.detail", dataset_id=dataset_id))


@bp.post("/<int:dataset_id>/rename")
def rename(dataset_id: int):
    dataset = owned(Dataset, dataset_id, load=DETAILS)
    form = RenameForm()
    if not form.validate_on_submit():
        return _render_detail(dataset, rename_form=form, status=422)
    try:
        dataset_service.rename_dataset(session=get_session(), dataset=dataset, name=form.name.data)
    except AppError as exc:
        get_session().rollback()
        apply_service_errors(form, exc)
        return _render_detail(
            owned(Dataset, dataset_id, load=DETAILS), rename_form=form, status=exc.status
        )
    flash("Renamed.", "success")
    return redirect(url_for("datasets.detail", dataset_id=dataset_id))


@bp.get("/<int:dataset_id>/delete")
def confirm_delete(dataset_id: int):
    dataset = owned(Dataset, dataset_id)
    return render_template("datasets/delete.html", dataset=dataset, form=DeleteForm(formdata=None))


@bp.post("/<int:dataset_id>/delete")
def delete(dataset_id: int):
    dataset = owned(Dataset, dataset_id)
    form = DeleteForm()
    if not form.validate_on_submit():
        return render_template("datasets/delete.html", dataset=dataset, form=form), 400
    name = dataset.name
    dataset_service.delete_dataset(session=get_session(), dataset=dataset)
    flash(f"Deleted “{name}”.", "success")
    return redirect(url_for("datasets.index"))
