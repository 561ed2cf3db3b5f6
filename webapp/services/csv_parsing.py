"""Reading real-world CSV files: detect how a file is written, then parse it into a DataFrame.

Detection looks at the bytes and the first records only: the encoding (BOM, UTF-8, else
Windows-1252), the delimiter (``,`` ``;`` tab ``|``: the one giving the most fields consistently),
the header line (the first line with the table's field count, so a title line above is skipped;
none when that line is all numbers) and the decimal mark (``1,5`` vs ``1.5``). Every choice can be
overridden; :func:`parse_csv` resolves overrides first and detects only what is left.

Parsing reads every cell as text, then per column: strips spaces, turns missing-value tokens
(empty, NA, N/A, NaN, null, ?, -, ...) into NA, and reads numbers written with the chosen decimal
mark and thousands separators (``1,234.5``, ``1.234,5``, ``1 234,5``). A column whose every value
is a number becomes float64 (int64 when whole and complete); anything else stays text with its
numbers rewritten canonically, so ``mlcore``'s column inference (which also reads dates) decides
the rest exactly as it will at training time.

Bad files raise :mod:`webapp.errors` with a message that says what to change: 413 for too many
rows/columns, 422 for the rest (code ``not_csv`` for a file that is not text at all, e.g. an
image or a zip). Ragged rows: a row with *more* fields than the header is
an error naming its line; a row with fewer is padded with missing values (common in exports).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from webapp.errors import PayloadTooLarge, ValidationFailed, field_error

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DECIMALS = {".": "point (1.5)", ",": "comma (1,5)"}
# Compared case-insensitively after stripping; a superset of mlcore's list, so whatever we call
# missing mlcore does too (it never sees these tokens: they arrive as NA).
MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "n.a.", "nan", "null", "none", "nil", "?", "-", "--", "#n/a", "#na"}
    | {"#n/a n/a", "<na>", "-nan", "1.#ind", "1.#qnan", "-1.#ind", "-1.#qnan", "#value!"}
)
# Thousands separators accepted next to each decimal mark: the other mark, spaces, apostrophes.
_GROUPING = {
    ".": (",", " ", "\u00a0", "\u202f", "'", "\u2019"),
    ",": (".", " ", "\u00a0", "\u202f", "'"),
}
SAMPLE_BYTES = 64 * 1024
SAMPLE_RECORDS = 200

_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Excel .xlsx file)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Word file"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\x7fELF", "a program"),
    (b"BZh", "a bzip2 archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class NotCsv(ValidationFailed):
    """The upload is not a text file (an image, an archive, a spreadsheet): 422, code not_csv.
    Not 415: the request's own media type (multipart) is fine; the file inside is wrong."""

    code = "not_csv"

    def __init__(self, message: str):
        super().__init__(message, details=[field_error("file", "Upload a CSV text file.")])


@dataclass(frozen=True)
class ParseOptions:
    """How a file is read. ``header_row`` is the 0-based line holding the column names (lines
    above it are skipped); ``None`` means the file has no header and columns are numbered."""

    encoding: str
    delimiter: str
    decimal: str
    header_row: int | None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ParseOptions:
        return cls(
            encoding=data["encoding"],
            delimiter=data["delimiter"],
            decimal=data["decimal"],
            header_row=data["header_row"],
        )


@dataclass
class ParsedTable:
    """The result of :func:`parse_csv`: the frame, the options used, what detection chose."""

    frame: pd.DataFrame
    options: ParseOptions
    detected: ParseOptions
    warnings: list[str] = field(default_factory=list)


# -- detection -----------------------------------------------------------------------------


def binary_kind(content: bytes) -> str | None:
    """A description of ``content`` when it is clearly not text (``"a PNG image"``), else None."""
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    head = content[:SAMPLE_BYTES]
    if head.startswith(_UTF16_BOMS):
        return None
    if b"\x00" in head:
        return "a binary file"
    return None


def detect_encoding(content: bytes) -> str:
    """``utf-8-sig`` with a UTF-8 BOM, ``utf-16`` with a UTF-16 BOM, ``utf-8`` when the bytes
    decode as UTF-8, else ``cp1252`` (Windows' Latin-1; plain ``latin-1`` when cp1252 cannot)."""
    if content.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if content.startswith(_UTF16_BOMS):
        return "utf-16"
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        content.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:  # five bytes cp1252 leaves undefined
        return "latin-1"


def normalize_encoding(name: str) -> str:
    """The canonical codec name for ``name``; ValidationFailed when Python has no such codec."""
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, AttributeError, ValueError):  # ValueError: a NUL in the name
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ValidationFailed(
            f"Unknown text encoding {name!r}.",
            details=[field_error("encoding", "Use e.g. utf-8, cp1252 or latin-1.")],
        )
    return {"utf-8": "utf-8", "utf_8_sig": "utf-8-sig", "iso8859-1": "latin-1"}.get(
        info.name, info.name
    )


def decode(content: bytes, encoding: str) -> str:
    """Decode ``content``; a wrong encoding is a 422 naming the first bad byte."""
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError as exc:
        byte = content[exc.start : exc.start + 1].hex()
        raise ValidationFailed(
            f"The file is not valid {encoding} text (byte 0x{byte} at position {exc.start}). "
            "Choose another encoding, e.g. cp1252 for files saved by Excel on Windows.",
            details=[field_error("encoding", f"Cannot decode the file as {encoding}.")],
        ) from None
    text = text.removeprefix("\ufeff")  # a BOM read with a codec that keeps it
    if "\x00" in text[:SAMPLE_BYTES]:
        raise NotCsv(
            f"The file does not look like text when read as {encoding}; upload a CSV file."
        )
    return text


def _sample_records(text: str, delimiter: str) -> list[list[str]]:
    """The first records (a blank line is an empty record, as pandas counts them for
    ``skiprows``), dropping a record the sample cut at its end."""
    sample = text[:SAMPLE_BYTES]
    cut = len(sample) < len(text)
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=False)
    records = []
    try:
        for fields in reader:
            records.append(fields)
            if len(records) > SAMPLE_RECORDS:
                break
    except csv.Error:  # e.g. a quote opened in the sample and closed beyond it
        pass
    if cut and 1 < len(records) <= SAMPLE_RECORDS:
        records.pop()
    return records


def _modal_width(records) -> tuple[int, float]:
    widths = [len(fields) for fields in records if fields]
    if not widths:
        return 0, 0.0
    values, counts = np.unique(widths, return_counts=True)
    best = int(np.argmax(counts))
    return int(values[best]), float(counts[best]) / len(widths)


def detect_delimiter(text: str) -> str:
    """The candidate that splits the sample into the most fields, consistently across rows."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        width, share = _modal_width(_sample_records(text, delimiter))
        if width < 2:
            continue
        score = (round(share, 1), width)  # consistency first, then more fields
        if score > best_score:
            best, best_score = delimiter, score
    return best


_NUMBER_LIKE = re.compile(r"^[-+]?[\d.,\s\u00a0\u202f']*\d([eE][-+]?\d+)?$")


def detect_header_row(text: str, delimiter: str) -> int | None:
    """The first record with the table's usual field count (records above are a title or
    notes); None when that record is all numbers, i.e. the file has no header."""
    # Widths without trailing empty fields: exports often end data rows (not the header)
    # with a delimiter, and title lines with a run of them (``Report,,,``).
    records = [_trim(fields) for fields in _sample_records(text, delimiter)]
    width, _ = _modal_width(records)
    start = next((i for i, fields in enumerate(records) if len(fields) >= width > 0), 0)
    cells = [cell.strip() for cell in (records[start] if records else []) if cell.strip()]
    if cells and all(_NUMBER_LIKE.match(cell) for cell in cells):
        return None
    return start


def _trim(fields: list[str]) -> list[str]:
    while fields and not fields[-1].strip():
        fields = fields[:-1]
    return fields


_COMMA_DECIMAL = re.compile(
    r"^[-+]?(\d{1,3}(\.\d{3})+,\d+|\d+,\d{1,2}|\d+,\d{4,}|\d{4,},\d+|0,\d+)$"
)
_POINT_DECIMAL = re.compile(
    r"^[-+]?(\d{1,3}(,\d{3})+\.\d+|\d+\.\d{1,2}|\d+\.\d{4,}|\d{4,}\.\d+|0\.\d+)$"
)


def detect_decimal(text: str, delimiter: str, header_row: int | None) -> str:
    """``","`` when the sample has more unambiguous ``1,5``-style numbers than ``1.5``-style ones.

    ``1,234`` and ``1.234`` are ambiguous (thousands or decimals) and count for neither."""
    votes = {".": 0, ",": 0}
    for i, fields in enumerate(_sample_records(text, delimiter)):
        if header_row is not None and i <= header_row:
            continue
        for cell in fields:
            cell = cell.strip()
            if _COMMA_DECIMAL.match(cell):
                votes[","] += 1
            elif _POINT_DECIMAL.match(cell):
                votes["."] += 1
    return "," if votes[","] > votes["."] else "."


def resolve_options(
    content: bytes, overrides: dict | None = None
) -> tuple[ParseOptions, ParseOptions, str]:
    """Return ``(options, detected, text)``: detection for every field, and the options to use
    (overrides where given, detection for the rest, each detected given the overrides before it)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v != "auto"}
    detected_encoding = detect_encoding(content)
    encoding = normalize_encoding(overrides.get("encoding", detected_encoding))
    text = decode(content, encoding)
    delimiter = overrides.get("delimiter", detect_delimiter(text))
    if delimiter not in DELIMITERS:
        raise ValidationFailed(
            "Unsupported delimiter.",
            details=[field_error("delimiter", "Choose one of comma, semicolon, tab or pipe.")],
        )
    header_row = (
        overrides["header_row"] if "header_row" in overrides else detect_header_row(text, delimiter)
    )
    if header_row is not None and (not isinstance(header_row, int) or header_row < 0):
        raise ValidationFailed(
            "The header row must be a line number from 0, or none.",
            details=[field_error("header_row", "Must be 0 or more, or null for no header.")],
        )
    decimal = overrides.get("decimal", detect_decimal(text, delimiter, header_row))
    if decimal not in DECIMALS:
        raise ValidationFailed(
            "Unsupported decimal mark.",
            details=[field_error("decimal", "Choose '.' or ','.")],
        )
    if decimal == delimiter:
        raise ValidationFailed(
            "The decimal mark cannot be the delimiter.",
            details=[field_error("decimal", "Use '.' with comma-separated files.")],
        )
    options = ParseOptions(encoding, delimiter, decimal, header_row)
    if not overrides:
        return options, options, text
    detected_text = (
        text if detected_encoding == encoding else _try_decode(content, detected_encoding)
    )
    d_delim = detect_delimiter(detected_text)
    d_header = detect_header_row(detected_text, d_delim)
    detected = ParseOptions(
        detected_encoding, d_delim, detect_decimal(detected_text, d_delim, d_header), d_header
    )
    return options, detected, text


def _try_decode(content: bytes, encoding: str) -> str:
    return content.decode(encoding, errors="replace").removeprefix("\ufeff")


# -- parsing -------------------------------------------------------------------------------


def number_pattern(decimal: str) -> re.Pattern:
    """A full-match regex for numbers written with ``decimal`` and optional digit grouping."""
    dec = re.escape(decimal)
    groups = "|".join(rf"\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+" for sep in _GROUPING[decimal])
    return re.compile(rf"[-+]?(?:(?:{groups}|\d+)(?:{dec}\d*)?|{dec}\d+)(?:[eE][-+]?\d+)?")


def _plain_numbers(raw: np.ndarray, decimal: str) -> np.ndarray:
    """Cells pandas reads as finite numbers as they are (fast, in C), NaN for the rest.

    With a decimal comma, a cell with a dot is a thousands grouping (``1.234``), not 1.234:
    those go the slow way too."""
    numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
    numbers = np.asarray(numbers, dtype=np.float64).copy()
    if decimal == ",":
        numbers[pd.Series(raw, dtype=object).str.contains(".", regex=False).to_numpy(bool)] = np.nan
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def _clean_column(column: pd.Series, pattern: re.Pattern, decimal: str) -> pd.Series:
    """Strip, NA the missing tokens, and read the numbers (see the module docstring).

    Plain numbers are read in one vectorized pass; everything else is handled per distinct
    value (a category column has few), so a million-row column costs about a second."""
    raw = column.to_numpy(dtype=object, na_value="")  # short rows were padded with NaN
    numbers = np.full(len(raw), np.nan)
    sample = pd.to_numeric(pd.Series(raw[:1000], dtype=object), errors="coerce")
    if sample.notna().mean() >= 0.5:  # skip the pass on text columns, where it is slow
        numbers = _plain_numbers(raw, decimal)
    todo = np.isnan(numbers)
    codes, uniques = pd.factorize(raw[todo])
    text_u = pd.Series(uniques, dtype=object).str.strip()
    missing_u = text_u.str.lower().isin(MISSING_TOKENS).to_numpy(bool)
    numbers_u = np.full(len(uniques), np.nan)
    canonical_u = text_u.to_numpy(dtype=object).copy()
    candidates = np.flatnonzero(~missing_u)
    # Localized numbers (1,234.5 / 1.234,5 / 1 234,5), screened on a sample first.
    if len(candidates) and text_u.iloc[candidates[:1000]].str.fullmatch(pattern).any():
        matched = candidates[text_u.iloc[candidates].str.fullmatch(pattern).to_numpy(bool)]
        separators = re.escape("".join(_GROUPING[decimal]))
        canonical = text_u.iloc[matched].str.replace(f"[{separators}]", "", regex=True)
        if decimal == ",":
            canonical = canonical.str.replace(",", ".", regex=False)
        numbers_u[matched] = np.asarray(pd.to_numeric(canonical, errors="coerce"), dtype=float)
        numbers_u[~np.isfinite(numbers_u)] = np.nan  # 1e400 overflows: not a usable number
        canonical_u[matched] = canonical.to_numpy(dtype=object)
    numbers[todo] = numbers_u[codes]
    missing = np.zeros(len(raw), dtype=bool)
    missing[todo] = missing_u[codes]
    is_number = ~np.isnan(numbers)
    if bool((is_number | missing).all()):
        finite = numbers[is_number]
        whole = bool(np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53))
        if whole and not missing.any():
            return pd.Series(numbers.astype(np.int64), index=column.index, name=column.name)
        return pd.Series(numbers, index=column.index, name=column.name)
    # Text: stripped, missing as NaN, localized numbers rewritten the way mlcore reads them.
    text = np.empty(len(raw), dtype=object)
    text[todo] = canonical_u[codes]
    if not todo.all():
        text[~todo] = pd.Series(raw[~todo], dtype=object).str.strip().to_numpy(dtype=object)
    text[missing] = np.nan
    return pd.Series(text, index=column.index, name=column.name, dtype="str")


_TOO_MANY = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_IN_QUOTE = re.compile(r"EOF inside string starting (?:at|with) row (\d+)", re.IGNORECASE)


def _header(text: str, options: ParseOptions) -> list[str] | None:
    """The header record's fields (None without a header); checks the line exists."""
    if options.header_row is None:
        return None
    records = _sample_records(text, options.delimiter)
    if options.header_row >= len(records) or not records[options.header_row]:
        raise ValidationFailed(
            f"Line {options.header_row + 1} is not a header line (it is blank or past the first "
            f"{len(records)} lines of the file).",
            details=[field_error("header_row", "Choose the line that holds the column names.")],
        )
    return records[options.header_row]


def _read_text_frame(
    text: str, options: ParseOptions, width: int, max_rows: int | None
) -> pd.DataFrame:
    """Every cell as text, in ``width`` numbered columns (shorter rows are padded; a row
    wider than ``width`` is a ParserError naming its line)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text, newline=""),
                sep=options.delimiter,
                header=None,
                names=list(range(width)),
                skiprows=0 if options.header_row is None else options.header_row + 1,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                skip_blank_lines=True,
                nrows=None if max_rows is None else max_rows + 1,
                engine="c",
            )
        # pandas warns (and drops data) when a row is wider than the names it was given and
        # it did not raise: stray quotes that made Python's csv module see other rows.
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
            raise ValidationFailed(
                "The rows of this file do not line up: some have more fields than the first "
                f"lines. Check the delimiter ({DELIMITERS[options.delimiter]}) and that every "
                'double quote (") is closed.',
                details=[field_error("file", "Rows with more fields than expected.")],
            )
        return frame
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(range(width)), dtype=str)
    except pd.errors.ParserError as exc:
        raise ValidationFailed(
            _parser_message(str(exc), options), details=[field_error("file", str(exc))]
        ) from None


def _drop_trailing_columns(raw: pd.DataFrame, n_names: int, options: ParseOptions) -> pd.DataFrame:
    """Rows may end with extra delimiters (``1,2,``); extra fields must be empty."""
    extra = raw.iloc[:, n_names:]
    if extra.shape[1] == 0:
        return raw
    filled = extra.apply(lambda col: col.str.strip().ne("")).any(axis=1)
    if filled.any():
        row = int(np.argmax(filled.to_numpy()))
        delim = DELIMITERS[options.delimiter]
        raise ValidationFailed(
            f"Data row {row + 1} has more values than the header has columns ({n_names}). "
            f"The delimiter is {delim}: check that it is the right one, and quote values "
            f"that contain a {delim}.",
            details=[field_error("file", f"Data row {row + 1} has too many values.")],
        )
    return raw.iloc[:, :n_names]


def _parser_message(error: str, options: ParseOptions) -> str:
    delim = DELIMITERS[options.delimiter]
    match = _TOO_MANY.search(error)
    if match:
        expected, line, saw = match.groups()
        return (
            f"Line {line} has {saw} fields but the header has {expected}. The delimiter is "
            f"{delim}: check that it is the right one, and quote values that contain a {delim}."
        )
    match = _EOF_IN_QUOTE.search(error)
    if match:
        return (
            f"A quoted value that starts near row {match.group(1)} is never closed: "
            'add the missing double quote (").'
        )
    return f"The file could not be read as CSV with delimiter {delim}: {error}"


def parse_csv(
    content: bytes,
    overrides: dict | None = None,
    *,
    max_rows: int | None = None,
    max_columns: int | None = None,
) -> ParsedTable:
    """Detect (or take from ``overrides``) the options and parse ``content`` into a DataFrame.

    ``overrides`` may set ``encoding``, ``delimiter``, ``decimal`` and ``header_row``; a value
    of ``"auto"`` or a missing key means "detect". Raises :mod:`webapp.errors` for bad files.
    """
    if not content.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise ValidationFailed("The file is empty.", details=[field_error("file", "Empty file.")])
    kind = binary_kind(content)
    if kind:
        raise NotCsv(f"This looks like {kind}, not a CSV text file.")
    options, detected, text = resolve_options(content, overrides)
    header = _header(text, options)
    if max_columns is not None and len(header or []) > max_columns:
        raise PayloadTooLarge(
            f"The file has {len(header)} columns; the limit is {max_columns}.",
            details=[field_error("file", "Too many columns.")],
        )
    # Room for the widest sampled row, so trailing delimiters (``1,2,``) are tolerated.
    widths = map(len, _sample_records(text, options.delimiter))
    width = max(len(header or []), *widths, 1)
    raw = _read_text_frame(text, options, width, max_rows)
    if header is not None:
        raw = _drop_trailing_columns(raw, len(header), options)
        raw.columns = _column_names(header)
    else:
        raw.columns = [f"column_{i + 1}" for i in range(raw.shape[1])]
    if max_columns is not None and raw.shape[1] > max_columns:
        raise PayloadTooLarge(
            f"The file has {raw.shape[1]} columns; the limit is {max_columns}.",
            details=[field_error("file", "Too many columns.")],
        )
    if max_rows is not None and len(raw) > max_rows:
        raise PayloadTooLarge(
            f"The file has more than {max_rows:,} rows, the limit. Upload a sample of it.",
            details=[field_error("file", "Too many rows.")],
        )
    notes = []
    if raw.shape[1] == 1 and (suggested := detect_delimiter(text)) != options.delimiter:
        notes.append(
            f"Only one column was found with the {DELIMITERS[options.delimiter]} delimiter; "
            f"the file looks {DELIMITERS[suggested]}-separated."
        )
    pattern = number_pattern(options.decimal)
    frame = pd.DataFrame(
        {name: _clean_column(raw[name], pattern, options.decimal) for name in raw.columns}
    )
    empty = frame.isna().all(axis=1)
    if empty.any():
        frame = frame.loc[~empty].reset_index(drop=True)
        notes.append(f"Skipped {int(empty.sum())} row(s) in which every value is missing.")
    if frame.empty:
        raise ValidationFailed(
            "The file has column names but no data rows."
            if header is not None
            else "The file has no data rows.",
            details=[field_error("file", "No data rows.")],
        )
    return ParsedTable(frame=frame, options=options, detected=detected, warnings=notes)


def _column_names(columns) -> list[str]:
    """Strip names; number empty ones; make duplicates unique (``name (2)``)."""
    names, seen = [], set()
    for i, name in enumerate(columns):
        name = str(name).strip()
        if not name:
            name = f"column_{i + 1}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base} ({n})", n + 1
        seen.add(name)
        names.append(name)
    return names
