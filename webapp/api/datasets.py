"""Data sets over the API: upload (multipart), list, read, preview, rename, re-parse, delete."""

from __future__ import annotations

from flask import current_app, request
from pydantic import ValidationError

from webapp.api import bp
from webapp.api.dataset_schemas import (
    DatasetPage,
    DatasetParseRequest,
    DatasetPreview,
    DatasetPublic,
    DatasetSummary,
    DatasetUpdate,
    PreviewQuery,
)
from webapp.api.deps import current_api_user
from webapp.api.routing import api_operation as _api_operation
from webapp.api.routing import validation_details
from webapp.api.schemas import PageQuery
from webapp.db import get_session
from webapp.errors import UnsupportedMediaType, ValidationFailed, field_error
from webapp.models import Dataset
from webapp.services import datasets as dataset_service
from webapp.services.datasets import DETAILS
from webapp.web import owned

_OPTION_FIELDS = (
    "encoding",
    "delimiter",
    "decimal",
    "quotechar",
    "header_row",
    "skip_first",
    "skip_last",
)
_UPLOAD_CONTENT = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "The CSV file (UTF-8 or Windows-1252; comma, semicolon, "
                    "tab, pipe or whitespace delimited).",
                },
                "name": {
                    "type": "string",
                    "maxLength": dataset_service.NAME_MAX,
                    "description": "Defaults to the file name without its extension.",
                },
                "encoding": {"type": "string", "description": "Override detection, e.g. cp1252."},
                "delimiter": {
                    "type": "string",
                    "enum": [",", ";", "\t", "|", "whitespace", "auto"],
                    "description": "'whitespace': runs of spaces and tabs separate values.",
                },
                "decimal": {"type": "string", "enum": [".", ",", "auto"]},
                "quotechar": {"type": "string", "enum": ['"', "'", "auto"]},
                "header_row": {
                    "type": "string",
                    "description": "0-based line of the column names counted after the "
                    "skip_first lines, 'none', or 'auto'.",
                },
                "skip_first": {
                    "type": "string",
                    "description": "Lines at the top that are not part of the table, or 'auto'.",
                },
                "skip_last": {
                    "type": "string",
                    "description": "Lines at the end that are not rows (footers), or 'auto'.",
                },
            },
        }
    }
}


def api_operation(rule, method, **kwargs):
    return _api_operation(bp, rule, method, tags=["datasets"], **kwargs)


def _limits() -> dataset_service.DatasetLimits:
    return dataset_service.DatasetLimits.from_config(current_app.config)


def _form_options() -> dict:
    """Parse options sent as form fields next to the file (``header_row=none``: no header)."""
    data = {}
    for key in _OPTION_FIELDS:
        value = request.form.get(key, "").strip()
        if not value:
            continue
        if key == "header_row" and value.lower() in ("none", "null"):
            value = None
        data[key] = value
    try:
        return DatasetParseRequest.model_validate(data).overrides()
    except ValidationError as exc:
        raise ValidationFailed(
            "The parse options are not valid.", details=validation_details(exc, "form")
        ) from None


@api_operation(
    "/datasets",
    "POST",
    summary="Upload a CSV data set",
    response=DatasetPublic,
    status=201,
    errors=(413, 415, 422),
    request_content=_UPLOAD_CONTENT,
)
def create_dataset():
    """Send ``multipart/form-data`` with the file in ``file`` (and optionally ``name`` and
    parse options). The encoding, quote character, delimiter, decimal mark, header line and
    the lines above and below the table are detected unless given; lines left out are named in
    `warnings`. Answers 413 for a file over the size, row or column limits, 415 for a request that
    is not multipart, 422 for a file that cannot be read as a table (code ``not_csv`` for one
    that is not text at all: an image, a zip), including a file that reads as one column while
    its lines hold separators (the message says what was seen)."""
    if not request.mimetype.startswith("multipart/form-data"):
        raise UnsupportedMediaType("Send the file as multipart/form-data in a field named 'file'.")
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(
            "No file was sent.", details=[field_error("file", "Attach a CSV file as 'file'.")]
        )
    dataset = dataset_service.create_dataset(
        session=get_session(),
        user=current_api_user(),
        filename=upload.filename or "upload.csv",
        content=upload.read(),
        name=request.form.get("name"),
        options=_form_options(),
        limits=_limits(),
    )
    return DatasetPublic.of(dataset)


@api_operation("/datasets", "GET", summary="List data sets", query=PageQuery, response=DatasetPage)
def list_datasets(query: PageQuery):
    """The caller's data sets, newest first (without column profiles)."""
    session, user = get_session(), current_api_user()
    items = dataset_service.list_datasets(
        session=session, user=user, limit=query.limit, offset=query.offset
    )
    total = dataset_service.count_datasets(session=session, user=user)
    return DatasetPage.of(
        [DatasetSummary.model_validate(d) for d in items], total=total, query=query
    )


@api_operation(
    "/datasets/<int:dataset_id>", "GET", summary="Get a data set", response=DatasetPublic
)
def get_dataset(dataset_id: int):
    """One data set with its parse options and the profile of every column."""
    return DatasetPublic.of(owned(Dataset, dataset_id, load=DETAILS))


@api_operation(
    "/datasets/<int:dataset_id>",
    "PATCH",
    summary="Rename a data set",
    body=DatasetUpdate,
    response=DatasetPublic,
)
def update_dataset(dataset_id: int, body: DatasetUpdate):
    dataset = dataset_service.rename_dataset(
        session=get_session(), dataset=owned(Dataset, dataset_id, load=DETAILS), name=body.name
    )
    return DatasetPublic.of(dataset)


@api_operation("/datasets/<int:dataset_id>", "DELETE", summary="Delete a data set", status=204)
def delete_dataset(dataset_id: int):
    """Delete the data set and its stored file."""
    dataset_service.delete_dataset(session=get_session(), dataset=owned(Dataset, dataset_id))
    return None


@api_operation(
    "/datasets/<int:dataset_id>/preview",
    "GET",
    summary="Preview the first rows",
    query=PreviewQuery,
    response=DatasetPreview,
)
def preview_dataset(dataset_id: int, query: PreviewQuery):
    """The first ``limit`` rows (at most 100) as parsed; missing values are ``null``."""
    dataset = owned(Dataset, dataset_id, load=DETAILS)
    preview = dataset.preview or {"columns": [], "rows": []}
    return DatasetPreview(
        columns=preview["columns"],
        rows=preview["rows"][: query.limit],
        limit=query.limit,
        n_rows=dataset.n_rows,
    )


@api_operation(
    "/datasets/<int:dataset_id>/parse",
    "POST",
    summary="Parse again with other options",
    body=DatasetParseRequest,
    response=DatasetPublic,
    errors=(413, 422),
)
def reparse_dataset(dataset_id: int, body: DatasetParseRequest):
    """Read the stored file again with the options sent (fields left out keep their value,
    ``"auto"`` detects again). If the file cannot be read that way the answer is 422 and the
    data set is unchanged."""
    dataset = dataset_service.reparse_dataset(
        session=get_session(),
        dataset=owned(Dataset, dataset_id, load=DETAILS),
        overrides=body.overrides(),
        limits=_limits(),
    )
    return DatasetPublic.of(dataset)
