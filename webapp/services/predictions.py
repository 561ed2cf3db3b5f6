"""Predictions with a saved model: rows as dicts (JSON, the browser form) or a CSV file.

Each row is checked on its own: a missing column or a value of the wrong type (text where
the model reads a number, a date or yes/no) is an error for that row only, and the other
rows are still answered. When no row can be answered the whole request is a 422 with every
row's reasons. A category the model never saw (a new city, a new car name) is not an error:
the model reads it the way it reads rare categories (the ``(other)`` group, or none of the
known categories when training had no rare ones), predicts, and the row gets a warning.

A CSV batch is answered in the upload's own dialect by default (delimiter, decimal mark,
quote character, encoding, line ending: a semicolon, decimal-comma, Windows-1252 file comes
back as one), or as plain UTF-8 comma-separated CSV with decimal points on request, written by
:mod:`webapp.services.csv_writing` (formulas escaped).

A CSV batch is read, predicted and written :data:`CHUNK_ROWS` rows at a time and answered as
a stream: a million-row file held about 480 MB in a web worker as row dicts and whole-table
frames; chunk by chunk the peak stays near one chunk's (see bench/predict.py). Everything
that makes the request a 4xx is found before the first byte is sent: the file's layout and
every line's shape (:func:`csv_parsing.read_csv_chunks`), and the first chunk's predictions
(a file whose first chunk has no row that can be answered is a 422). The ``error`` and
``warning`` columns are there when a row needs them; in a file larger than one chunk they are
always there, since the header is sent before the last rows are read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from webapp.errors import ValidationFailed, field_error
from webapp.models import ModelVersion
from webapp.services import csv_parsing, csv_writing
from webapp.services import model_versions as model_service

MAX_ROWS = 10_000  # per JSON request
MAX_CSV_ROWS = 1_000_000  # per CSV batch (the upload size limit applies too)
# Rows of a CSV batch read, predicted and written at a time. Larger chunks cost memory (about
# 1 KB per row while a chunk is predicted) for little speed: the per-chunk work is vectorized.
CHUNK_ROWS = 10_000
# A 422 for a CSV batch lists the reasons of this many rows at most.
MAX_ERROR_ROWS = 100
UPLOAD, PLAIN = "upload", "plain"
DIALECTS = {
    UPLOAD: "Like the uploaded file",
    PLAIN: "Plain UTF-8 CSV",
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


@dataclass
class BatchSummary:
    """What a CSV batch's answer holds, counted while it is written."""

    task: str
    rows: int = 0
    predicted: int = 0
    with_errors: int = 0
    with_warnings: int = 0
    counts: Counter = field(default_factory=Counter)  # classes or clusters: rows each
    low: float | None = None  # regression: the range and mean of the predictions
    high: float | None = None
    total: float = 0.0

    def add(self, result: Predictions) -> None:
        answered = [p for p in result.predictions if p is not None]
        self.rows += len(result.predictions)
        self.predicted += len(answered)
        self.with_errors += sum(1 for e in result.errors if e)
        self.with_warnings += sum(1 for w in result.warnings if w)
        if self.task == "regression":
            if answered:
                values = np.asarray(answered, dtype=np.float64)
                low, high = float(values.min()), float(values.max())
                self.low = low if self.low is None else min(self.low, low)
                self.high = high if self.high is None else max(self.high, high)
                self.total += float(values.sum())
        else:
            self.counts.update(answered)

    @property
    def mean(self) -> float | None:
        return self.total / self.predicted if self.predicted and self.task == "regression" else None

    def as_dict(self) -> dict:
        """JSON-ready; ``counts`` as ``[label, rows]`` pairs, most rows first."""
        counts = sorted(self.counts.items(), key=lambda item: (-item[1], str(item[0])))
        return {
            "task": self.task,
            "rows": self.rows,
            "predicted": self.predicted,
            "with_errors": self.with_errors,
            "with_warnings": self.with_warnings,
            "counts": [[label, n] for label, n in counts],
            "low": self.low,
            "high": self.high,
            "mean": self.mean,
        }


class CsvAnswer:
    """A CSV batch's answer: iterating it yields the bytes, a chunk of rows at a time (the
    first is ready: the checks that make a 4xx are done); ``summary`` is complete once the
    iteration is."""

    def __init__(self, chunks: Iterator[bytes], encoding: str, summary: BatchSummary):
        self._chunks = chunks
        self.encoding = encoding  # Python's codec name
        self.summary = summary

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def read(self) -> bytes:
        """The whole answer at once (tests, small files)."""
        return b"".join(self._chunks)

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
    if not unseen:
        return warnings
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


def _predict(saved, classes: list | None, data) -> Predictions:
    """Predictions for ``data`` (row dicts or a DataFrame); rows with errors get None.
    ``classes`` are the model version's (None unless a classifier)."""
    pre, model = saved.preprocessor, saved.model
    transformed = pre.transform_rows(data)
    errors, valid, n = transformed.errors, transformed.valid, len(transformed.errors)
    warnings = _warnings(pre, transformed.unseen)
    predictions: list = [None] * n
    probabilities = None
    if len(valid):
        if classes is not None and hasattr(model, "predict_proba"):
            # One pass over the trees: predict() would compute the same probabilities again.
            proba = model.predict_proba(transformed.X)
            # Plain Python classes picked by index: no per-row conversion of NumPy scalars.
            known = model.classes_
            plain = np.fromiter(map(_plain, known.tolist()), dtype=object, count=len(known))
            values = plain.take(proba.argmax(axis=1)).tolist()
            probabilities = _spread(proba.round(6).tolist(), valid, n)
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
    errors = [dict(e) if e else None for e in errors] if any(errors) else [None] * n
    return Predictions(predictions, probabilities, classes, errors, row_warnings)


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
    saved = model_service.load(session=session, version=version)
    result = _predict(saved, _classes(version), rows)
    _refuse(result)
    return result


def _classes(version: ModelVersion) -> list | None:
    return list(version.classes) if version.classes is not None else None


def predict_csv(
    *, session: Session, version: ModelVersion, content: bytes, dialect: str = UPLOAD
) -> CsvAnswer:
    """The uploaded CSV with ``prediction`` (or ``cluster``; and ``probability_<class>``,
    ``error``, ``warning``) appended, written in the upload's dialect or, with
    ``dialect="plain"``, as UTF-8 comma-separated CSV. See the module docstring for how it
    is streamed."""
    if dialect not in DIALECTS:
        raise ValidationFailed(
            f"Unknown CSV dialect {dialect!r}.",
            details=[field_error("dialect", f"Choose one of {', '.join(DIALECTS)}.")],
        )
    saved = model_service.load(session=session, version=version)
    classes = _classes(version)
    table = csv_parsing.read_csv_chunks(content, chunk_rows=CHUNK_ROWS, max_rows=MAX_CSV_ROWS)
    chunks = iter(table)
    text, frame = next(chunks)
    first = _predict(saved, classes, frame)
    _refuse(first, limit=MAX_ERROR_ROWS)
    out = _output_dialect(table.options, content, dialect)
    layout = _Layout(
        column="cluster" if version.task == "clustering" else "prediction",
        classes=first.classes if first.probabilities is not None else None,
        notes=[
            name
            for name, per_row in (("error", first.errors), ("warning", first.warnings))
            if table.n_rows > CHUNK_ROWS or any(per_row)
        ],
    )
    summary = BatchSummary(version.task)
    summary.add(first)
    head = _rows_text(text if dialect == UPLOAD else frame, first, layout, out, header=True)
    try:
        head.encode(out.encoding)
    except UnicodeEncodeError:
        # A label the upload's encoding cannot write (e.g. a class name in Greek coming back
        # to a Windows-1252 file): UTF-8 with a BOM, which spreadsheets recognise.
        out = csv_writing.Dialect(out.delimiter, out.decimal, out.quotechar, out.line_end,
                                  "utf-8-sig")  # fmt: skip
    # The header holds every label a later chunk can add, and the other cells come from the
    # upload, so later chunks encode; "replace" keeps a surprise from cutting the stream.
    encode = csv_writing.encoder(out.encoding, errors="replace")

    def stream() -> Iterator[bytes]:
        yield encode(head)
        for text, frame in chunks:
            result = _predict(saved, classes, frame)
            summary.add(result)
            cells = text if dialect == UPLOAD else frame
            yield encode(_rows_text(cells, result, layout, out, header=False))

    return CsvAnswer(stream(), out.encoding, summary)


@dataclass(frozen=True)
class _Layout:
    """The columns appended to every chunk of one answer."""

    column: str  # "prediction" or "cluster"
    classes: list | None  # one probability_<class> column each
    notes: list  # "error" and/or "warning"


def _output_dialect(options: csv_parsing.ParseOptions, content: bytes, dialect: str):
    if dialect == PLAIN:
        return csv_writing.PLAIN
    head = content[:4096]
    return csv_writing.Dialect(
        delimiter=options.delimiter,
        decimal=options.decimal,
        quotechar=options.quotechar,
        line_end="\r\n" if b"\r\n" in head or b"\r\x00\n" in head else "\n",
        encoding=options.encoding,
    )


def _rows_text(
    cells: pd.DataFrame, result: Predictions, layout: _Layout, out, *, header: bool
) -> str:
    """One chunk: the upload's cells (as written, or as read for plain CSV) and the answers."""
    columns = {name: cells[name] for name in cells.columns}
    if out is csv_writing.PLAIN:
        columns = {name: _as_written(values) for name, values in columns.items()}
    index = cells.index
    columns[layout.column] = _column(result.predictions, index)
    if layout.classes is not None:
        for j, label in enumerate(layout.classes):
            columns[f"probability_{label}"] = _column(
                [p[j] if p is not None else None for p in result.probabilities], index
            )
    for name in layout.notes:
        per_row = result.errors if name == "error" else result.warnings
        columns[name] = pd.Series(
            ["; ".join(f"{k}: {v}" for k, v in e.items()) if e else None for e in per_row],
            index=index,
            dtype=object,
        )
    return csv_writing.write_rows(pd.DataFrame(columns, index=index), out, header=header)


def _as_written(values: pd.Series) -> pd.Series:
    """Whole numbers of a float column written as integers (``3``, not ``3.0``): a column is
    float in a chunk with a missing value and integer in the others, and must read the same."""
    if values.dtype != np.float64:
        return values
    numbers = values.to_numpy()
    whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
    text = numbers.astype(str).astype(object)
    text[whole] = numbers[whole].astype(np.int64).astype(str)
    text[np.isnan(numbers)] = None
    return pd.Series(text, index=values.index, dtype=object)


def _column(values: list, index: pd.Index) -> pd.Series:
    """Numbers (with None for rows without an answer) as floats, so the decimal mark applies;
    anything else as it is."""
    present = [v for v in values if v is not None]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    if present and numbers and not all(isinstance(v, int) for v in present):
        return pd.Series([np.nan if v is None else v for v in values], index=index, dtype=float)
    return pd.Series(values, index=index, dtype=object)


def dataset_with_clusters(
    *, session: Session, version: ModelVersion, frame: pd.DataFrame
) -> Iterator[bytes]:
    """A KMeans model's data set as UTF-8 CSV with a ``cluster`` column appended, written a
    chunk of rows at a time."""
    saved = model_service.load(session=session, version=version)
    encode = csv_writing.encoder("utf-8")

    def stream() -> Iterator[bytes]:
        for start in range(0, len(frame), CHUNK_ROWS):
            chunk = frame.iloc[start : start + CHUNK_ROWS].copy()
            chunk["cluster"] = saved.model.predict(saved.preprocessor.transform(chunk))
            yield encode(csv_writing.write_rows(chunk, header=start == 0))

    return stream()


def template_csv(version: ModelVersion) -> str:
    """A CSV file to fill in for a batch: the model's input columns, in order, and one example
    row holding the values the page's form starts with (the training median, the first
    category, the latest date), which shows how each column is written."""
    example = {}
    for col in version.input_schema:
        if col["kind"] == "numeric":
            median = col["median"]
            example[col["name"]] = int(round(median)) if col.get("integer") else median
        elif col.get("categories"):
            example[col["name"]] = col["categories"][0]
        elif col["kind"] == "datetime":
            example[col["name"]] = col["max"] if col.get("has_time") else col["max"][:10]
        else:
            example[col["name"]] = None
    frame = pd.DataFrame([example], columns=[col["name"] for col in version.input_schema])
    return csv_writing.write_rows(frame)


def template_name(version: ModelVersion) -> str:
    return model_service.file_name(version).replace(".mlcore.npz", "-template.csv")
