"""Turn a table read from a CSV file into a numeric matrix, and new rows the same way.

:class:`TabularPreprocessor` infers each column's kind (see :func:`infer_column`),
drops what cannot be a feature (identifiers, constants, empty columns) with a reason,
imputes missing values, one-hot encodes categories and can standardize. Its fitted state
is plain lists and dicts, so :mod:`mlcore.persistence` saves it next to the model and
predictions apply exactly the training transform. :func:`infer_task` and
:func:`prepare_target` handle the target column.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from operator import itemgetter
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import pandas as pd

from mlcore import _encoders
from mlcore._columns import (
    ColumnKind,
    format_label,
    infer_column,
    number_role,
    parse_distinct,
    parse_values,
)
from mlcore._target import PreparedTarget, infer_task, prepare_target
from mlcore.base import BaseEstimator, check_is_fitted

__all__ = [
    "ColumnKind",
    "PreparedTarget",
    "TabularPreprocessor",
    "TransformedRows",
    "infer_column",
    "infer_task",
    "number_role",
    "parse_values",
    "prepare_target",
]


class TransformedRows(NamedTuple):
    """Result of :meth:`TabularPreprocessor.transform_rows`.

    Attributes
    ----------
    X : ndarray of shape (n_valid, n_features_out)
        Encoded rows that had no error, in input order.
    valid : ndarray of int
        Indices (into the input list) of the rows in ``X``.
    errors : list of mapping
        One mapping per input row, ``{column: message}``; for valid rows a shared,
        read-only empty mapping.
    unseen : dict
        ``{column: {row index: category}}`` for categories the fitted encoding never saw
        (they are encoded as the rare ones, ``(other)``, or as none of the categories when
        training had no rare ones); rows with errors included.
    """

    X: np.ndarray
    valid: np.ndarray
    errors: list
    unseen: dict


class TabularPreprocessor(BaseEstimator):
    """Encode a pandas DataFrame as a float matrix; column kinds are inferred.

    Parameters
    ----------
    scale : bool, default=False
        Standardize numeric and date outputs (mean 0, variance 1); useful for KMeans,
        unnecessary for trees.
    max_categories : int, default=20
        At most this many categories per column get their own output column.
    min_category_frequency : int or float, default=3
        Categories seen fewer times (a count, or a fraction of rows when a float below
        1) are grouped into ``(other)``.
    missing_indicator : bool, default=True
        Add a ``<name>.missing`` 0/1 column for numeric, boolean and date columns that
        had missing values in the training data.
    drop_columns : list of str, optional
        Columns to leave out in addition to those dropped automatically.

    Attributes
    ----------
    columns_ : list of dict
        The fitted encoding of each used column (plain JSON-friendly values).
    schema_ : list of dict
        The input schema: for each used column its ``name``, ``kind`` ("numeric",
        "boolean", "categorical", "datetime"), ``dtype``, and ``categories`` or
        ``min``/``max`` (plus ``median``, ``integer`` and, for years and codes, ``role``
        for numbers; ``format`` for dates); enough to build a prediction form.
    dropped_ : dict
        ``{column: reason}`` for every column not used.
    feature_names_in_ : list of str
        All columns seen in ``fit`` except the target.
    n_features_in_ : int
        ``len(feature_names_in_)``.
    feature_names_out_ : list of str
        Names of the output matrix columns (``age``, ``color=red``, ``day.year``, ...).
    target_ : str or None
        The target column given to ``fit``, never used as a feature.

    Notes
    -----
    Missing values: numbers take the training median, booleans the most frequent value,
    dates the median date, and categories a ``(missing)`` column; see
    :mod:`mlcore._encoders` for the exact rules.
    """

    def __init__(
        self,
        scale=False,
        max_categories=20,
        min_category_frequency=3,
        missing_indicator=True,
        drop_columns=None,
    ):
        self.scale = scale
        self.max_categories = max_categories
        self.min_category_frequency = min_category_frequency
        self.missing_indicator = missing_indicator
        self.drop_columns = drop_columns

    def fit(self, df, target=None):
        """Learn the kind and encoding of every column of ``df``.

        Parameters
        ----------
        df : pandas.DataFrame
            Training table; rows are samples.
        target : str, optional
            Name of the target column, excluded from the features.

        Returns
        -------
        self : TabularPreprocessor

        Raises
        ------
        ValueError
            For bad parameters, an empty table, an unknown target or when no column
            is usable as a feature.
        """
        df = _as_frame(df)
        self._check_params()
        if len(df) == 0:
            raise ValueError("The data has no rows.")
        if target is not None and target not in df.columns:
            raise ValueError(f"Target column {target!r} is not in the data.")
        min_frequency = self.min_category_frequency
        if isinstance(min_frequency, float):
            min_frequency = max(1, int(np.ceil(min_frequency * len(df))))
        excluded = set(self.drop_columns or ())
        unknown = excluded - set(df.columns)
        if unknown:
            raise ValueError(f"drop_columns names unknown column(s): {sorted(unknown)}.")

        columns, dropped = [], {}
        for name in df.columns:
            if name == target:
                continue
            if name in excluded:
                dropped[name] = "excluded by drop_columns"
                continue
            info = infer_column(df[name], name=name)
            if not info.kept:
                dropped[name] = info.reason
                continue
            fmt = info.details.get("format")
            parsed, _ = parse_values(info.kind, df[name], fmt)
            spec = _encoders.fit_spec(
                name,
                info.kind,
                info.dtype,
                parsed,
                fmt=fmt,
                scale=bool(self.scale),
                max_categories=self.max_categories,
                min_frequency=min_frequency,
                indicator=bool(self.missing_indicator),
            )
            spec["reason"] = info.reason
            if info.details.get("role"):
                spec["role"] = info.details["role"]
            if info.kind == "boolean":
                spec["false"], spec["true"] = info.details["false"], info.details["true"]
            columns.append(spec)
        if not columns:
            reasons = "; ".join(f"{k}: {v}" for k, v in dropped.items()) or "no columns"
            raise ValueError(f"No usable feature columns ({reasons}).")

        self.columns_ = columns
        self.schema_ = [_encoders.schema_entry(spec) for spec in columns]
        self.dropped_ = dropped
        self.feature_names_in_ = [name for name in df.columns if name != target]
        self.n_features_in_ = len(self.feature_names_in_)
        self.feature_names_out_ = [n for spec in columns for n in _encoders.output_names(spec)]
        self.target_ = target
        return self

    def transform(self, df) -> np.ndarray:
        """Encode ``df`` with the fitted encoding.

        Values that cannot be parsed (text in a numeric column, a bad date) are treated
        as missing, the same way ``fit`` treated them; use :meth:`transform_rows` to get
        them reported instead. Extra columns are ignored.

        Parameters
        ----------
        df : pandas.DataFrame

        Returns
        -------
        X : ndarray of shape (n_rows, n_features_out)

        Raises
        ------
        ValueError
            When a used column is missing from ``df``.
        """
        check_is_fitted(self, "columns_")
        df = _as_frame(df)
        absent = [spec["name"] for spec in self.columns_ if spec["name"] not in df.columns]
        if absent:
            raise ValueError(
                f"Column(s) {', '.join(map(repr, absent))} used by the model "
                "are missing from the data."
            )
        blocks = [_encoded(spec, df[spec["name"]])[0] for spec in self.columns_]
        return np.hstack(blocks) if len(df) else np.zeros((0, len(self.feature_names_out_)))

    def fit_transform(self, df, target=None) -> np.ndarray:
        """``fit(df, target)`` then ``transform(df)``."""
        return self.fit(df, target=target).transform(df)

    def transform_rows(self, rows) -> TransformedRows:
        """Encode rows given as dicts (or a DataFrame), reporting bad values per row instead
        of failing.

        Every used column must be a key of each row (a missing key is a row error);
        ``None`` or ``""`` is a missing value and is imputed as in training. A value
        that does not parse (text in a numeric column, an unknown yes/no word, a bad
        date) is a row error; unseen categories are not errors (see ``unseen``).

        Parameters
        ----------
        rows : list of dict or pandas.DataFrame
            ``{column: value}`` per row; extra keys are ignored. A DataFrame's columns
            are read as they are typed (numbers stay numbers).

        Returns
        -------
        TransformedRows
            ``(X, valid, errors, unseen)``: the matrix of the valid rows, their indices,
            one ``{column: message}`` dict per input row, and the unseen categories.
        """
        check_is_fitted(self, "columns_")
        columns, errors = self._columns_of(rows)
        n = len(next(iter(columns.values())))
        blocks, unseen = [], {}
        for spec in self.columns_:
            name = spec["name"]
            raw = columns[name]
            block, bad, codes, parsed = _encoded(spec, raw)
            for i in bad.nonzero()[0].tolist():
                value = raw.iloc[i] if isinstance(raw, pd.Series) else raw[i]
                errors.setdefault(i, {})[name] = _bad_value_message(spec, value)
            if spec["kind"] == "categorical":
                found = _unseen(parsed, codes, spec["all_categories"])
                if found:
                    unseen[name] = found
            blocks.append(block)
        if errors:
            valid = np.ones(n, dtype=bool)
            valid[list(errors)] = False
            valid = valid.nonzero()[0].astype(np.int64)
        else:
            valid = np.arange(n, dtype=np.int64)
        if not n:
            X = np.zeros((0, len(self.feature_names_out_)))
        else:
            X = np.concatenate(blocks, axis=1)  # every block is 2-d: (rows, outputs)
            if len(valid) < n:
                X = X[valid]
        # One shared empty mapping for the rows without errors: a dict per row would be
        # 10,000 allocations for a batch, and the garbage collections they set off cost
        # more than the whole encoding (measured: 32 ms of 70).
        per_row = [errors.get(i, _NO_ERRORS) for i in range(n)] if errors else [_NO_ERRORS] * n
        return TransformedRows(np.ascontiguousarray(X), valid, per_row, unseen)

    def _columns_of(self, rows) -> tuple[dict, dict]:
        """``({column: values}, {row: {column: message}})`` for the used columns of ``rows``:
        the values of each column, and the rows that are not mappings or lack a column."""
        names = [spec["name"] for spec in self.columns_]
        if isinstance(rows, pd.DataFrame):
            frame = _as_frame(rows)
            errors: dict = {}
            columns = {}
            for name in names:
                if name in frame.columns:
                    columns[name] = frame[name]
                else:
                    columns[name] = np.full(len(frame), None, dtype=object)
                    for i in range(len(frame)):
                        errors.setdefault(i, {})[name] = "column missing from the row"
            return columns, errors
        rows = list(rows)
        n = len(rows)
        if n and set(map(type, rows)) == {dict}:
            # Plain dicts that all hold every column (JSON rows): a pass in C per column.
            try:
                columns = {
                    name: np.fromiter(map(itemgetter(name), rows), dtype=object, count=n)
                    for name in names
                }
            except KeyError:
                pass
            else:
                return columns, {}
        errors: dict = {}
        columns = {name: np.full(n, None, dtype=object) for name in names}
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                kind = type(row).__name__
                errors[i] = {"_row": f"expected a mapping of column to value, got {kind}"}
                continue
            for name in names:
                if name in row:
                    columns[name][i] = row[name]
                else:
                    errors.setdefault(i, {})[name] = "column missing from the row"
        return columns, errors

    def get_feature_names_out(self) -> list[str]:
        """Return ``feature_names_out_`` (scikit-learn's accessor name)."""
        check_is_fitted(self, "columns_")
        return list(self.feature_names_out_)

    def _check_params(self) -> None:
        if not isinstance(self.max_categories, numbers.Integral) or self.max_categories < 1:
            raise ValueError(
                f"max_categories must be a positive integer, got {self.max_categories!r}."
            )
        freq = self.min_category_frequency
        ok_int = isinstance(freq, numbers.Integral) and not isinstance(freq, bool) and freq >= 1
        ok_float = isinstance(freq, float) and 0.0 < freq < 1.0
        if not (ok_int or ok_float):
            raise ValueError(
                "min_category_frequency must be an integer >= 1 (a count) or a float "
                f"in (0, 1) (a fraction of rows), got {freq!r}."
            )
        if self.drop_columns is not None and isinstance(self.drop_columns, str):
            raise ValueError("drop_columns must be a list of column names, not a string.")


_NO_ERRORS = MappingProxyType({})


def _encoded(spec: dict, values) -> tuple:
    """``(block, unparsable_mask, codes, distinct)`` for one column's values: each distinct
    value is parsed and encoded once, then the rows take their value's encoding."""
    codes, parsed, bad = parse_distinct(spec["kind"], values, spec.get("format"))
    block = _encoders.encode(spec, parsed)
    if codes is not None:
        block, bad = block[codes], bad[codes]
    return block, bad, codes, parsed


def _unseen(distinct: np.ndarray, codes: np.ndarray | None, known: list) -> dict:
    """``{row: category}`` for the present categories not in ``known`` (``codes`` as
    ``parse_distinct`` gives them: None when ``distinct`` holds one value per row)."""
    known = set(known)
    new = [v is not None and v not in known for v in distinct]
    if not any(new):  # the usual case: no row to name
        return {}
    if codes is None:
        return {i: distinct[i] for i in np.flatnonzero(new).tolist()}
    return {i: distinct[codes[i]] for i in np.array(new)[codes].nonzero()[0].tolist()}


def _bad_value_message(spec: dict, value) -> str:
    if isinstance(value, np.generic):  # a DataFrame's cell: shown as the number it is
        value = value.item()
    kind = spec["kind"]
    if kind == "numeric":
        return f"{value!r} is not a number"
    if kind == "boolean":
        return f"{value!r} is not a yes/no value (expected {spec['false']} or {spec['true']})"
    fmt = spec["format"]
    if fmt in ("ISO8601", "native"):
        return f"{value!r} is not a date (expected YYYY-MM-DD)"
    return f"{value!r} is not a date (expected {format_label(fmt)} or YYYY-MM-DD)"


def _as_frame(df) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        try:
            df = pd.DataFrame(df)
        except (TypeError, ValueError) as exc:
            kind = type(df).__name__
            raise ValueError(f"Expected a table (pandas DataFrame), got {kind}: {exc}") from None
    if df.columns.duplicated().any():
        duplicated = sorted(set(df.columns[df.columns.duplicated()].map(str)))
        raise ValueError(f"Duplicate column name(s): {duplicated}.")
    if not all(isinstance(c, str) for c in df.columns):
        df = df.rename(columns=str)
    return df
