"""Reading real-world CSV files: detect how a file is written, then parse it into a DataFrame.

Detection looks at the bytes and a sample of the text only: the encoding (BOM, UTF-8, else
Windows-1252), then, in :mod:`webapp.services.csv_layout`, the quote character, the delimiter
(``,`` ``;`` tab ``|`` or whitespace), the lines above the table (titles, a count line), the
header line, the lines below it (footers) and the decimal mark (``1,5`` vs ``1.5``). Every choice
can be overridden; :func:`parse_csv` resolves overrides first and detects only what is left.
Lines left out are named in the warnings, so nothing disappears silently.

Options follow pandas' ``read_csv``: ``skip_first`` lines are dropped, then ``header_row`` counts
from there (0: the first remaining line; None: no header), and ``skip_last`` lines are dropped at
the end. Options stored before the skip options existed have no such keys: they mean 0.

Parsing reads every cell as text, then per column: strips spaces, turns missing-value tokens
(empty, NA, N/A, NaN, null, ?, -, ...) into NA, and reads numbers written with the chosen decimal
mark and thousands separators (``1,234.5``, ``1.234,5``, ``1 234,5``). A column whose every value
is a number becomes float64 (int64 when whole and complete); anything else stays text with its
numbers rewritten canonically, so ``mlcore``'s column inference (which also reads dates) decides
the rest exactly as it will at training time.

:func:`parse_csv` reads the whole table (uploads); :func:`read_csv_chunks` reads it a chunk of
rows at a time (batch predictions), after one pass that finds every line that does not fit, so
both refuse the same files with the same messages. pandas reads the text through a small reader
over the string, not ``io.StringIO``, which copies it at 4 bytes a character first.

Bad files raise :mod:`webapp.errors` with a message that says what to change: 413 for too many
rows/columns, 422 for the rest (code ``not_csv`` for a file that is not text at all, e.g. an
image or a zip). Ragged rows: a row with *more* fields than the header is an error naming its
line; a row with fewer is padded with missing values (common in exports). A file that reads as
one column although its lines hold separators is a 422 saying what was seen (see
:func:`webapp.services.csv_layout.one_column_problem`): one column is never accepted silently.
"""

from __future__ import annotations

import codecs
import re
import warnings
from dataclasses import asdict, dataclass, field

from webapp.errors import PayloadTooLarge, ValidationFailed, field_error
from webapp.lazy import lazy_import
from webapp.services.csv_layout import (
    DELIMITERS,
    QUOTES,
    SAMPLE_BYTES,
    WHITESPACE,
    body_records,
    decimal_mark,
    detect_delimiter,
    detect_header,
    detect_quotechar,
    detect_skip_first,
    detect_skip_last,
    drop_last_lines,
    last_lines,
    modal_width,
    one_column_problem,
    sample_records,
    show,
)

# Forms import the option names at start-up; pandas loads with the first file (webapp.lazy).
np = lazy_import("numpy")
pd = lazy_import("pandas")

__all__ = [
    "DECIMALS",
    "DELIMITERS",
    "QUOTES",
    "WHITESPACE",
    "NotCsv",
    "ParseOptions",
    "ParsedTable",
    "detect_decimal",
    "detect_delimiter",
    "detect_encoding",
    "number_pattern",
    "parse_csv",
    "read_csv_chunks",
]

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
# Options saved before quotechar, skip_first and skip_last existed: those mean '"', 0 and 0.
_LEGACY_KEYS = frozenset({"encoding", "delimiter", "decimal", "header_row"})
# Lines quoted in a note about lines left out.
_QUOTED_LINES = 3

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
    """How a file is read (see the module docstring for how the line options combine)."""

    encoding: str
    delimiter: str
    decimal: str
    header_row: int | None
    quotechar: str = '"'
    skip_first: int = 0
    skip_last: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def first_data_record(self) -> int:
        """Records (blank lines included) before the first data row."""
        return self.skip_first + (0 if self.header_row is None else self.header_row + 1)


@dataclass
class ParsedTable:
    """The result of :func:`parse_csv`: the frame, the options used, what detection chose,
    and (when asked for) the same rows as the text cells were written."""

    frame: pd.DataFrame
    options: ParseOptions
    detected: ParseOptions
    warnings: list[str] = field(default_factory=list)
    text: pd.DataFrame | None = None


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


def detect_decimal(
    text: str, delimiter: str, header_row: int | None, *, quotechar='"', skip_first=0
) -> str:
    """The decimal mark of the data rows (see :func:`csv_layout.decimal_mark`)."""
    return decimal_mark(body_records(text, delimiter, quotechar, skip_first, header_row))


def _count_option(given: dict, key: str) -> int:
    value = given[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(
            f"{key} must be a number of lines from 0.",
            details=[field_error(key, "Must be 0 or more.")],
        )
    return value


def _resolve(text: str, encoding: str, given: dict) -> ParseOptions:
    """Options for ``text``: ``given`` where set, detected (given the ones before) elsewhere."""
    quotechar = given["quotechar"] if "quotechar" in given else detect_quotechar(text)
    if quotechar not in QUOTES:
        raise ValidationFailed(
            "Unsupported quote character.",
            details=[field_error("quotechar", "Choose '\"' or \"'\".")],
        )
    delimiter = given["delimiter"] if "delimiter" in given else detect_delimiter(text, quotechar)
    if delimiter not in DELIMITERS:
        raise ValidationFailed(
            "Unsupported delimiter.",
            details=[
                field_error("delimiter", "Choose one of comma, semicolon, tab, pipe or whitespace.")
            ],
        )
    if "skip_first" in given:
        skip_first = _count_option(given, "skip_first")
    elif isinstance(given.get("header_row"), int):
        skip_first = 0  # a header line chosen alone counts from the top, as it always did
    else:
        skip_first = detect_skip_first(text, delimiter, quotechar)
    if "header_row" in given:
        header_row = given["header_row"]
    else:
        header_row = detect_header(text, delimiter, quotechar, skip_first)
    if header_row is not None and (
        isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 0
    ):
        raise ValidationFailed(
            "The header row must be a line number from 0, or none.",
            details=[field_error("header_row", "Must be 0 or more, or null for no header.")],
        )
    if "skip_last" in given:
        skip_last = _count_option(given, "skip_last")
    else:
        skip_last = detect_skip_last(text, delimiter, quotechar, skip_first, header_row)
    if "decimal" in given:
        decimal = given["decimal"]
    else:
        # Footers matter when the sample reaches the end (copying a large text would not).
        table = drop_last_lines(text, skip_last) if len(text) <= SAMPLE_BYTES else text
        decimal = detect_decimal(
            table, delimiter, header_row, quotechar=quotechar, skip_first=skip_first
        )
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
    return ParseOptions(encoding, delimiter, decimal, header_row, quotechar, skip_first, skip_last)


def resolve_options(
    content: bytes, overrides: dict | None = None
) -> tuple[ParseOptions, ParseOptions, str]:
    """Return ``(options, detected, text)``: detection for every field, and the options to use
    (overrides where given, detection for the rest, each detected given the overrides before it)."""
    overrides = dict(overrides or {})
    if set(overrides) == _LEGACY_KEYS and "auto" not in overrides.values():
        overrides.update(quotechar='"', skip_first=0, skip_last=0)
    given = {k: v for k, v in overrides.items() if v != "auto"}
    detected_encoding = detect_encoding(content)
    encoding = normalize_encoding(given.get("encoding", detected_encoding))
    text = decode(content, encoding)
    options = _resolve(text, encoding, given)
    if not given:
        return options, options, text
    detected_text = (
        text if detected_encoding == encoding else _try_decode(content, detected_encoding)
    )
    return options, _resolve(detected_text, detected_encoding, {}), text


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


def _header(records: list[list[str]], options: ParseOptions) -> list[str] | None:
    """The header record's fields (None without a header); checks the line exists."""
    if options.header_row is None:
        return None
    line = options.skip_first + options.header_row
    if line >= len(records) or not records[line]:
        raise ValidationFailed(
            f"Line {line + 1} is not a header line (it is blank or past the first "
            f"{len(records)} lines of the file).",
            details=[field_error("header_row", "Choose the line that holds the column names.")],
        )
    return records[line]


def _contains(delimiter: str) -> str:
    return "a space" if delimiter == WHITESPACE else f"a {DELIMITERS[delimiter]}"


class _TextReader:
    """A file over a str for pandas' C parser. ``io.StringIO`` would first copy the text into
    a buffer of 4 bytes per character: measured, 159 MB to read a 36 MB file, 13 MB this way."""

    def __init__(self, text: str):
        self._text, self._position = text, 0

    def read(self, size: int = -1) -> str:
        end = len(self._text) if size is None or size < 0 else self._position + size
        chunk = self._text[self._position : end]
        self._position += len(chunk)
        return chunk

    def __iter__(self):  # pandas asks for it to call this a file; its C parser only reads
        return iter(self._text.splitlines(keepends=True))


def _read_text_frame(
    text: str,
    options: ParseOptions,
    width: int,
    max_rows: int | None,
    chunk_rows: int | None = None,
):
    """Every cell as text, in ``width`` numbered columns (shorter rows are padded; a row
    wider than ``width`` is a ParserError naming its line). With ``chunk_rows``, an iterator
    of frames of that many rows."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(
                _TextReader(text),
                sep=r"\s+" if options.delimiter == WHITESPACE else options.delimiter,
                quotechar=options.quotechar,
                header=None,
                names=list(range(width)),
                skiprows=options.first_data_record,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                skip_blank_lines=True,
                nrows=None if max_rows is None else max_rows + 1,
                engine="c",
                chunksize=chunk_rows,
            )
            if chunk_rows is not None:
                return _checked_chunks(frame, options, width)
        _check_parser_warnings(caught, options)
        return frame
    except pd.errors.EmptyDataError:
        empty = pd.DataFrame(columns=list(range(width)), dtype=str)
        return iter([empty]) if chunk_rows is not None else empty
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, options) from None


def _checked_chunks(reader, options: ParseOptions, width: int):
    try:
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                try:
                    chunk = next(reader)
                except StopIteration:
                    return
            _check_parser_warnings(caught, options)
            yield chunk
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, options) from None
    finally:
        reader.close()


def _check_parser_warnings(caught, options: ParseOptions) -> None:
    # pandas warns (and drops data) when a row is wider than the names it was given and
    # it did not raise: stray quotes that made Python's csv module see other rows.
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise ValidationFailed(
            "The rows of this file do not line up: some have more fields than the first "
            f"lines. Check the delimiter ({DELIMITERS[options.delimiter]}) and that every "
            f"{QUOTES[options.quotechar]} is closed.",
            details=[field_error("file", "Rows with more fields than expected.")],
        )


def _parser_error(exc: Exception, options: ParseOptions) -> ValidationFailed:
    return ValidationFailed(
        _parser_message(str(exc), options), details=[field_error("file", str(exc))]
    )


def _drop_trailing_columns(
    raw: pd.DataFrame, n_names: int, options: ParseOptions, first_row: int = 0
) -> pd.DataFrame:
    """Rows may end with extra delimiters (``1,2,``); extra fields must be empty."""
    extra = raw.iloc[:, n_names:]
    if extra.shape[1] == 0:
        return raw
    filled = extra.apply(lambda col: col.str.strip().ne("")).any(axis=1)
    if filled.any():
        row = first_row + int(np.argmax(filled.to_numpy()))
        delim = DELIMITERS[options.delimiter]
        raise ValidationFailed(
            f"Data row {row + 1} has more values than the header has columns ({n_names}). "
            f"The delimiter is {delim}: check that it is the right one, and quote values "
            f"that contain {_contains(options.delimiter)}.",
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
            f"{delim}: check that it is the right one, and quote values that contain "
            f"{_contains(options.delimiter)}."
        )
    match = _EOF_IN_QUOTE.search(error)
    if match:
        return (
            f"A quoted value that starts near row {match.group(1)} is never closed: "
            f"add the missing {QUOTES[options.quotechar]}."
        )
    return f"The file could not be read as CSV with delimiter {delim}: {error}"


@dataclass
class _Plan:
    """What is known before the rows are read: options, column names, width, notes."""

    options: ParseOptions
    detected: ParseOptions
    text: str  # the table's text: the lines skipped at the end are left out
    whole_text: str
    header: list[str] | None
    width: int
    notes: list[str]


def _plan(content: bytes, overrides: dict | None, max_columns: int | None) -> _Plan:
    if not content.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise ValidationFailed("The file is empty.", details=[field_error("file", "Empty file.")])
    kind = binary_kind(content)
    if kind:
        raise NotCsv(f"This looks like {kind}, not a CSV text file.")
    options, detected, text = resolve_options(content, overrides)
    table_text = drop_last_lines(text, options.skip_last)
    if not table_text.strip():
        raise ValidationFailed(
            f"Skipping the last {options.skip_last} line(s) leaves nothing of the file.",
            details=[field_error("skip_last", "No data rows are left after skipping.")],
        )
    records = sample_records(table_text, options.delimiter, options.quotechar)
    header = _header(records, options)
    notes = _left_out(records, text, options)
    body = records[options.first_data_record :]
    if header is not None and _row_names_first(header, body, options):
        header = ["", *header]
        notes.append(
            "The header has one name fewer than the rows, as R writes row names: the first "
            "column holds them and is called column_1."
        )
    _check_columns(len(header or []), max_columns)
    # Room for the widest sampled row, so trailing delimiters (``1,2,``) are tolerated.
    width = max(len(header or []), *map(len, records[options.skip_first :]), 1)
    return _Plan(options, detected, table_text, text, header, width, notes)


def _check_columns(n_columns: int, max_columns: int | None) -> None:
    if max_columns is not None and n_columns > max_columns:
        raise PayloadTooLarge(
            f"The file has {n_columns} columns; the limit is {max_columns}.",
            details=[field_error("file", "Too many columns.")],
        )


def _check_rows(n_rows: int, max_rows: int | None) -> None:
    if max_rows is not None and n_rows > max_rows:
        raise PayloadTooLarge(
            f"The file has more than {max_rows:,} rows, the limit. Upload a sample of it.",
            details=[field_error("file", "Too many rows.")],
        )


def _named(raw: pd.DataFrame, plan: _Plan, first_row: int = 0) -> pd.DataFrame:
    if plan.header is not None:
        raw = _drop_trailing_columns(raw, len(plan.header), plan.options, first_row)
        raw.columns = _column_names(plan.header)
    else:
        raw.columns = [f"column_{i + 1}" for i in range(raw.shape[1])]
    return raw


def _short_rows_note(raw: pd.DataFrame, options: ParseOptions) -> str | None:
    if options.delimiter != WHITESPACE or raw.shape[1] < 2:
        return None
    short = int(raw.iloc[:, -1].eq("").sum())
    if not short:
        return None
    return (
        f"{short} row(s) have fewer values than the header. In a file separated by "
        "blanks a missing value shifts the values after it to the left: check those "
        "rows (their last values are read as missing)."
    )


def _cleaned(raw: pd.DataFrame, decimal: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(frame, raw, n_empty)``: the cells read (see the module docstring), with the rows
    in which every value is missing left out of both."""
    pattern = number_pattern(decimal)
    frame = pd.DataFrame(
        {name: _clean_column(raw[name], pattern, decimal) for name in raw.columns},
        index=raw.index,
    )
    empty = frame.isna().all(axis=1)
    if not empty.any():
        return frame, raw, 0
    keep = ~empty
    return frame.loc[keep], raw.loc[keep], int(empty.sum())


def _no_rows(plan: _Plan) -> ValidationFailed:
    skipped = plan.options.skip_first + plan.options.skip_last
    return ValidationFailed(
        "The file has column names but no data rows."
        if plan.header is not None
        else "The file has no data rows.",
        details=[
            field_error(
                "file",
                f"No data rows are left after skipping {skipped} line(s)."
                if skipped
                else "No data rows.",
            )
        ],
    )


def parse_csv(
    content: bytes,
    overrides: dict | None = None,
    *,
    max_rows: int | None = None,
    max_columns: int | None = None,
    keep_text: bool = False,
) -> ParsedTable:
    """Detect (or take from ``overrides``) the options and parse ``content`` into a DataFrame.

    ``overrides`` may set any field of :class:`ParseOptions`; a value of ``"auto"`` or a
    missing key means "detect". ``keep_text`` also returns the cells as written (``"1.234,5"``,
    ``"n/a"``), to give a file back as it came. Raises :mod:`webapp.errors` for bad files.
    """
    plan = _plan(content, overrides, max_columns)
    raw = _named(_read_text_frame(plan.text, plan.options, plan.width, max_rows), plan)
    _check_columns(raw.shape[1], max_columns)
    _check_rows(len(raw), max_rows)
    if raw.shape[1] == 1:
        _refuse_one_column(plan.whole_text, plan.options)
    notes = list(plan.notes)
    note = _short_rows_note(raw, plan.options)
    if note:
        notes.append(note)
    frame, raw, n_empty = _cleaned(raw, plan.options.decimal)
    if n_empty:
        frame, raw = frame.reset_index(drop=True), raw.reset_index(drop=True)
        notes.append(f"Skipped {n_empty} row(s) in which every value is missing.")
    if frame.empty:
        raise _no_rows(plan)
    text = raw if keep_text else None
    return ParsedTable(
        frame=frame, options=plan.options, detected=plan.detected, warnings=notes, text=text
    )


@dataclass
class CsvChunks:
    """A CSV file read a chunk of rows at a time (see :func:`read_csv_chunks`)."""

    options: ParseOptions
    columns: list[str]
    n_rows: int  # rows in the file, the rows in which every value is missing included
    _plan: _Plan
    _first: pd.DataFrame
    _chunk_rows: int

    def __iter__(self):
        """``(text, frame)`` per chunk: the cells as written and as read, with the rows in
        which every value is missing left out; indexes count rows from the file's first."""
        yield self._pair(self._first)
        if len(self._first) < self._chunk_rows:
            return
        chunks = _read_text_frame(
            self._plan.text, self.options, self._plan.width, None, self._chunk_rows
        )
        next(chunks)  # the first chunk, read and kept already
        start = len(self._first)
        for raw in chunks:
            raw.index = pd.RangeIndex(start, start + len(raw))
            yield self._pair(_named(raw, self._plan, start))
            start += len(raw)

    def _pair(self, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame, text, _ = _cleaned(raw, self.options.decimal)
        return text, frame


def read_csv_chunks(content: bytes, *, chunk_rows: int, max_rows: int | None = None) -> CsvChunks:
    """Read ``content`` (options detected) ``chunk_rows`` rows at a time, holding one chunk in
    memory instead of the whole table.

    Everything that makes a file unreadable is found before this returns, as by
    :func:`parse_csv`: the layout, the number of rows, and lines that do not line up
    anywhere in the file (a file larger than one chunk is read through once to check them,
    about a second per million rows). Iterating then cannot fail, so an answer that is
    streamed never stops half-way."""
    plan = _plan(content, None, None)
    chunks = _read_text_frame(plan.text, plan.options, plan.width, max_rows, chunk_rows)
    first = next(chunks, None)
    if first is None:
        first = pd.DataFrame(columns=list(range(plan.width)), dtype=str)
    first = _named(first, plan)
    n_rows = len(first)
    for raw in chunks:
        _named(raw, plan, n_rows)
        n_rows += len(raw)
    _check_rows(n_rows, max_rows)
    if first.shape[1] == 1:
        _refuse_one_column(plan.whole_text, plan.options)
    if n_rows == 0 or (n_rows <= chunk_rows and _cleaned(first, plan.options.decimal)[0].empty):
        raise _no_rows(plan)
    return CsvChunks(plan.options, list(first.columns), n_rows, plan, first, chunk_rows)


def _row_names_first(header: list[str], body: list[list[str]], options: ParseOptions) -> bool:
    """A whitespace file whose header lacks the first field of every row (R's write.table)."""
    if options.delimiter != WHITESPACE or len(header) < 2:
        return False
    width, share = modal_width(body)
    return width == len(header) + 1 and share >= 0.9


def _left_out(records: list[list[str]], text: str, options: ParseOptions) -> list[str]:
    """Notes naming the non-blank lines above and below the table that are not read."""
    above = records[: options.skip_first]
    if options.header_row:
        above += records[options.skip_first : options.skip_first + options.header_row]
    below = [[line.rstrip("\r")] for line in last_lines(text, options.skip_last)]
    notes = []
    for lines, where, option in (
        (above, "above the table", "Skip the first lines"),
        (below, "at the end", "Skip the last lines"),
    ):
        lines = [fields for fields in lines if any(f.strip() for f in fields)]
        if not lines:
            continue
        quoted = ", ".join(show(fields, options.delimiter) for fields in lines[:_QUOTED_LINES])
        more = f" and {len(lines) - _QUOTED_LINES} more" if len(lines) > _QUOTED_LINES else ""
        what = "1 line" if len(lines) == 1 else f"{len(lines)} lines"
        notes.append(
            f"Left out {what} {where}: {quoted}{more}. "
            f"To read {'it' if len(lines) == 1 else 'them'}, set “{option}” to 0."
        )
    return notes


def _refuse_one_column(text: str, options: ParseOptions) -> None:
    """A one-column reading of lines that hold separators is a 422 saying what was seen."""
    problem = one_column_problem(text, options.delimiter, options.quotechar, options.skip_first)
    if problem is None:
        return
    chosen = DELIMITERS[options.delimiter]
    if "delimiter" in problem:
        other = DELIMITERS[problem["delimiter"]]
        raise ValidationFailed(
            f"With the {chosen} delimiter every line is a single value, but the lines split "
            f"into {problem['width']} values on {other}. Choose {other} as the delimiter "
            "(or let it be detected).",
            details=[field_error("delimiter", f"The file looks {other}-separated.")],
        )
    raise ValidationFailed(
        f"Every line was read as a single value, but {problem['share']:.0%} of the lines hold "
        f"{problem['seen']}, in varying numbers ({problem['low']} to {problem['high']} values "
        "per line), so the columns cannot be told apart. Quote the values that contain "
        f"{problem['contains']}, or save the file as comma-separated CSV from your spreadsheet.",
        details=[field_error("file", f"Lines with varying numbers of {problem['seen']}.")],
    )


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
