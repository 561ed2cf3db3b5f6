"""Predictions with a saved model: rows as dicts (JSON, the browser form) or a CSV file.

Each row is checked on its own: a missing column or a value of the wrong type (text where
the model reads a number, a date or yes/no) is an error for that row only, and the other
rows are still answered. When no row can be answered the whole request is a 422 with every
row's reasons. A category the model never saw (a new city, a new car name) is not an error:
the model reads it the way it reads rare categories (the ``(other)`` group, or none of the
known categories when training had no rare ones), predicts, and the row gets a warning.

A CSV batch is answered in the upload's own dialect by default (delimiter, decimal mark,
quote character, encoding, line ending: a semicolon, decimal-comma, Windows-1252 file comes
back as one), or as plain UTF-8 comma-separated CSV with decimal points on request.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from webapp.errors import ValidationFailed, field_error
from webapp.models import ModelVersion
from webapp.services import csv_parsing
from webapp.services import models as model_service

MAX_ROWS = 10_000  # per JSON request
MAX_CSV_ROWS = 1_000_000  # per CSV batch (the upload size limit applies too)
UPLOAD, PLAIN = "upload", "plain"
DIALECTS = {
    UPLOAD: "the file's own format (delimiter, decimal mark, encoding)",
    PLAIN: "plain UTF-8 CSV (comma, decimal point)",
}


@dataclass
class Predictions:
    predictions: list
    probabilities: list | None
    classes: list | None
    errors: list  # per row: None or {column: message}
    warnings: list  # per row: None or {column: message} (answered, with a caveat)

    def as_dict(self) -> dict:
        return {
            "predictions": self.predictions,
            "probabilities": self.probabilities,
            "classes": self.classes,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class CsvAnswer:
    """A CSV batch's answer: the bytes and the encoding they are in."""

    content: bytes
    encoding: str  # Python's codec name

    @property
    def content_type(self) -> str:
        charset = _CHARSETS.get(self.encoding, self.encoding)
        return f"text/csv; charset={charset}"


# Python codec names that differ from the IANA charset names HTTP uses (the BOM of utf-8-sig
# is in the content).
_CHARSETS = {"utf-8-sig": "utf-8", "cp1252": "windows-1252", "latin-1": "iso-8859-1"}


def _warnings(pre, unseen: dict) -> dict[int, dict]:
    """``{row: {column: message}}`` for the rows with categories the model never saw."""
    warnings: dict[int, dict] = {}
    specs = {spec["name"]: spec for spec in pre.columns_}
    for name, rows in unseen.items():
        read_as = (
            "predicted as one of the rare categories (other)"
            if specs[name]["other"]
            else "predicted as none of the known categories"
        )
        for i, value in rows.items():
            warnings.setdefault(i, {})[name] = f"{value!r} was not seen in training: {read_as}"
    return warnings


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _predict(saved, version: ModelVersion, data) -> Predictions:
    """Predictions for ``data`` (row dicts or a DataFrame); rows with errors get None."""
    pre, model = saved.preprocessor, saved.model
    transformed = pre.transform_rows(data)
    errors, valid, n = transformed.errors, transformed.valid, len(transformed.errors)
    warnings = _warnings(pre, transformed.unseen)
    classes = list(version.classes) if version.classes is not None else None
    predictions: list = [None] * n
    probabilities = None
    if len(valid):
        if classes is not None and hasattr(model, "predict_proba"):
            # One pass over the trees: predict() would compute the same probabilities again.
            proba = model.predict_proba(transformed.X)
            predicted = model.classes_[np.argmax(proba, axis=1)]
            probabilities = _spread(np.round(proba, 6).tolist(), valid, n)
        else:
            predicted = model.predict(transformed.X)
        values = predicted.tolist()
        if predicted.dtype == object:
            values = [_plain(v) for v in values]
        predictions = _spread(values, valid, n)
    # A row with an error has no answer, so no caveat either.
    row_warnings = [None] * n
    for i, caveats in warnings.items():
        if not errors[i]:
            row_warnings[i] = caveats
    return Predictions(
        predictions, probabilities, classes, [dict(e) if e else None for e in errors], row_warnings
    )


def _spread(values: list, valid: np.ndarray, n: int) -> list:
    """``values`` of the valid rows at their places among ``n`` rows (None elsewhere)."""
    if len(valid) == n:
        return values
    out: list = [None] * n
    for i, value in zip(valid.tolist(), values, strict=True):
        out[i] = value
    return out


def _refuse(result: Predictions, limit: int | None = None) -> None:
    """A 422 with every row's reasons (the first ``limit`` rows') when no row is answered."""
    if any(p is not None for p in result.predictions) or not result.predictions:
        return
    failed = [(i, e) for i, e in enumerate(result.errors) if e]
    shown = failed if limit is None else failed[:limit]
    details = [
        {"field": f"rows.{i}.{column}", "message": message, "type": "value_error"}
        for i, e in shown
        for column, message in e.items()
    ]
    message = "No row could be predicted; see the details."
    if len(shown) < len(failed):
        message = f"No row could be predicted; the details give the first {limit} rows' reasons."
    raise ValidationFailed(message, details=details)


def predict_rows(
    *, session: Session, version: ModelVersion, rows: list, max_rows: int = MAX_ROWS
) -> Predictions:
    if not rows:
        raise ValidationFailed("Send at least one row.")
    if len(rows) > max_rows:
        raise ValidationFailed(f"At most {max_rows:,} rows per request.")
    result = _predict(model_service.load(session=session, version=version), version, rows)
    _refuse(result)
    return result


def read_csv_rows(content: bytes) -> tuple[csv_parsing.ParsedTable, list[dict]]:
    """A CSV upload as a parsed table (with the options it was read with) and as row dicts
    for the model."""
    # A bad file is a 4xx with the reason; the cells as written are kept to give them back.
    table = csv_parsing.parse_csv(content, None, keep_text=True)
    rows = []
    for record in table.frame.to_dict(orient="records"):
        rows.append({k: (None if _missing(v) else _plain(v)) for k, v in record.items()})
    return table, rows


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def predict_csv(
    *, session: Session, version: ModelVersion, content: bytes, dialect: str = UPLOAD
) -> CsvAnswer:
    """The uploaded CSV with ``prediction`` (and ``probability_<class>``, ``error``,
    ``warning``) appended, written in the upload's dialect or, with ``dialect="plain"``, as
    UTF-8 comma-separated CSV."""
    if dialect not in DIALECTS:
        raise ValidationFailed(
            f"Unknown CSV dialect {dialect!r}.",
            details=[field_error("dialect", f"Choose one of {', '.join(DIALECTS)}.")],
        )
    table, rows = read_csv_rows(content)
    result = predict_rows(session=session, version=version, rows=rows, max_rows=MAX_CSV_ROWS)
    # The upload's own cells as written ("1.234,50" stays so), or plain values for plain CSV.
    out = table.frame.copy() if dialect == PLAIN else table.text.copy()
    out.columns = table.frame.columns
    column = "cluster" if version.task == "clustering" else "prediction"
    out[column] = _column(result.predictions)
    if result.probabilities is not None:
        for j, label in enumerate(result.classes):
            out[f"probability_{label}"] = _column(
                [p[j] if p is not None else None for p in result.probabilities]
            )
    for name, per_row in (("error", result.errors), ("warning", result.warnings)):
        if any(per_row):
            out[name] = [
                "; ".join(f"{k}: {v}" for k, v in e.items()) if e else None for e in per_row
            ]
    if dialect == PLAIN:
        return _write(out, sep=",", decimal=".", quotechar='"', line_end="\n", encoding="utf-8")
    options = table.options
    head = content[:4096]
    if options.delimiter == csv_parsing.WHITESPACE:
        out = out.replace("", np.nan)  # written as NA: an empty value would shift the row
    return _write(
        out,
        sep=" " if options.delimiter == csv_parsing.WHITESPACE else options.delimiter,
        decimal=options.decimal,
        quotechar=options.quotechar,
        line_end="\r\n" if b"\r\n" in head or b"\r\x00\n" in head else "\n",
        encoding=options.encoding,
    )


def _column(values: list) -> pd.Series:
    """Numbers (with None for rows without an answer) as floats, so the decimal mark applies;
    anything else as it is."""
    present = [v for v in values if v is not None]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    if present and numbers and not all(isinstance(v, int) for v in present):
        return pd.Series([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.Series(values, dtype=object)


def _write(
    frame: pd.DataFrame, *, sep: str, decimal: str, quotechar: str, line_end: str, encoding: str
) -> CsvAnswer:
    text = frame.to_csv(
        index=False,
        sep=sep,
        decimal=decimal,
        quotechar=quotechar,
        quoting=csv.QUOTE_MINIMAL,
        lineterminator=line_end,
        # Blanks separate values: an empty one must be written, or the row shifts left.
        na_rep="NA" if sep == " " else "",
    )
    try:
        return CsvAnswer(text.encode(encoding), encoding)
    except UnicodeEncodeError:
        # A label the upload's encoding cannot write (e.g. a class name in Greek coming back
        # to a Windows-1252 file): UTF-8 with a BOM, which spreadsheets recognise.
        return CsvAnswer(text.encode("utf-8-sig"), "utf-8-sig")


def dataset_with_clusters(*, session: Session, version: ModelVersion, frame: pd.DataFrame) -> str:
    """A KMeans model's data set as CSV with a ``cluster`` column appended."""
    saved = model_service.load(session=session, version=version)
    labels = saved.model.predict(saved.preprocessor.transform(frame))
    out = frame.copy()
    out["cluster"] = labels
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()
