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

from mlcore.preprocessing import parse_values
from webapp.errors import ValidationFailed, field_error
from webapp.models import ModelVersion
from webapp.services import csv_parsing
from webapp.services import model_versions as model_service

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


def _unseen_categories(columns: list[dict], rows: list, errors: list[dict]) -> list[dict]:
    """``{column: message}`` per row for categories the model never saw (read as its encoder
    reads them: stripped, missing tokens as missing)."""
    warnings: list[dict] = [{} for _ in rows]
    for spec in columns:
        if spec["kind"] != "categorical":
            continue
        name, known = spec["name"], set(spec["all_categories"])
        raw = pd.Series(
            [row.get(name) if isinstance(row, dict) else None for row in rows], dtype=object
        )
        parsed = pd.Series(parse_values("categorical", raw)[0], dtype=object)
        unseen = parsed.notna().to_numpy() & ~parsed.isin(known).to_numpy()
        read_as = (
            "predicted as one of the rare categories (other)"
            if spec["other"]
            else "predicted as none of the known categories"
        )
        for i in np.flatnonzero(unseen):
            if name not in errors[i]:
                warnings[i][name] = f"{parsed.iloc[i]!r} was not seen in training: {read_as}"
    return warnings


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
    warnings = _unseen_categories(pre.columns_, rows, errors)
    valid = transformed.valid.tolist()
    X = transformed.X
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
    row_warnings = [w if w and not errors[i] else None for i, w in enumerate(warnings)]
    if not valid:
        details = [
            {"field": f"rows.{i}.{column}", "message": message, "type": "value_error"}
            for i, e in enumerate(errors)
            for column, message in e.items()
        ]
        raise ValidationFailed("No row could be predicted; see the details.", details=details)
    return Predictions(predictions, probabilities, classes, row_errors, row_warnings)


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
