"""Predictions with a saved model: rows as dicts (JSON, the browser form) or a CSV file.

Each row is checked on its own: a missing column, a value of the wrong type or a category
the model never saw is an error for that row only, and the other rows are still answered.
When no row can be answered the whole request is a 422 with every row's reasons.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from webapp.errors import ValidationFailed
from webapp.models import ModelVersion
from webapp.services import csv_parsing
from webapp.services import model_versions as model_service

MAX_ROWS = 10_000  # per JSON request
MAX_CSV_ROWS = 1_000_000  # per CSV batch (the upload size limit applies too)
_EMPTY = (None, "")


@dataclass
class Predictions:
    predictions: list
    probabilities: list | None
    classes: list | None
    errors: list  # per row: None or {column: message}

    def as_dict(self) -> dict:
        return {
            "predictions": self.predictions,
            "probabilities": self.probabilities,
            "classes": self.classes,
            "errors": self.errors,
        }


def _unseen_categories(schema: list[dict], rows: list, errors: list[dict]) -> None:
    """Flag categories the model never saw: they would silently count as "(other)"."""
    for entry in schema:
        if entry["kind"] != "categorical":
            continue
        known = {str(c) for c in entry["categories"]}
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or entry["name"] in errors[i]:
                continue
            value = row.get(entry["name"])
            if value not in _EMPTY and str(value).strip() not in known:
                shown = ", ".join(sorted(known)[:10])
                errors[i][entry["name"]] = (
                    f"{value!r} is a category the model never saw (known: {shown})"
                )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def predict_rows(
    *, session: Session, version: ModelVersion, rows: list, max_rows: int = MAX_ROWS
) -> Predictions:
    if not rows:
        raise ValidationFailed("Send at least one row.")
    if len(rows) > max_rows:
        raise ValidationFailed(f"At most {max_rows:,} rows per request.")
    saved = model_service.load(session=session, version=version)
    pre, model = saved.preprocessor, saved.model
    transformed = pre.transform_rows(rows)
    errors = [dict(e) for e in transformed.errors]
    _unseen_categories(pre.schema_, rows, errors)
    valid = [i for i in transformed.valid.tolist() if not errors[i]]
    keep = np.isin(transformed.valid, valid)
    X = transformed.X[keep]
    predictions: list = [None] * len(rows)
    probabilities = None
    classes = list(version.classes) if version.classes is not None else None
    if valid:
        if classes is not None and hasattr(model, "predict_proba"):
            # One pass over the trees: predict() would compute the same probabilities again.
            proba = model.predict_proba(X)
            predicted = model.classes_[np.argmax(proba, axis=1)]
            probabilities = [None] * len(rows)
            for i, p in zip(valid, np.round(proba, 6).tolist(), strict=True):
                probabilities[i] = p
        else:
            predicted = model.predict(X)
        for i, value in zip(valid, predicted.tolist(), strict=True):
            predictions[i] = _plain(value)
    row_errors = [e or None for e in errors]
    if not valid:
        details = [
            {"field": f"rows.{i}.{column}", "message": message, "type": "value_error"}
            for i, e in enumerate(errors)
            for column, message in e.items()
        ]
        raise ValidationFailed("No row could be predicted; see the details.", details=details)
    return Predictions(predictions, probabilities, classes, row_errors)


def read_csv_rows(content: bytes) -> tuple[pd.DataFrame, list[dict]]:
    """A CSV upload as a table of text (as typed) and as row dicts for the model."""
    frame = csv_parsing.parse_csv(content, None).frame  # a bad file is a 4xx with the reason
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({k: (None if _missing(v) else _plain(v)) for k, v in record.items()})
    return frame, rows


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def predict_csv(*, session: Session, version: ModelVersion, content: bytes) -> str:
    """The uploaded CSV with ``prediction`` (and ``probability_<class>``, ``error``) appended."""
    frame, rows = read_csv_rows(content)
    result = predict_rows(session=session, version=version, rows=rows, max_rows=MAX_CSV_ROWS)
    out = frame.copy()
    column = "cluster" if version.task == "clustering" else "prediction"
    out[column] = result.predictions
    if result.probabilities is not None:
        for j, label in enumerate(result.classes):
            out[f"probability_{label}"] = [
                p[j] if p is not None else None for p in result.probabilities
            ]
    if any(result.errors):
        out["error"] = [
            "; ".join(f"{k}: {v}" for k, v in e.items()) if e else "" for e in result.errors
        ]
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue()


def dataset_with_clusters(*, session: Session, version: ModelVersion, frame: pd.DataFrame) -> str:
    """A KMeans model's data set as CSV with a ``cluster`` column appended."""
    saved = model_service.load(session=session, version=version)
    labels = saved.model.predict(saved.preprocessor.transform(frame))
    out = frame.copy()
    out["cluster"] = labels
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()
