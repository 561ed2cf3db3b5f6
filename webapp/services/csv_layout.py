"""How the text of a CSV file is laid out: quote character, delimiter, decimal mark, and which
lines are the table (lines above and below it are titles, metadata and footers).

Everything here reads a sample: the first records (``SAMPLE_BYTES``) for the table's shape, the
last lines for footers. A person reads a file the same way: the body of the table is the run of
lines that share one width and one pattern of types (numbers in the same columns), and a line
that breaks the pattern at the top or the bottom is not a row.

- Quote: ``'`` when fields are wrapped in single quotes (``'vote','age'``), else ``"``.
- Delimiter: among ``,`` ``;`` tab ``|`` and whitespace (runs of blanks, as pandas'
  ``sep=r"\\s+"``), the one giving the most fields consistently. Whitespace must also give a
  numeric column, so a single column of two-word names stays one column, and it loses ties
  unless the other reading leaves blanks inside the values (``x 1,5 2,5``).
- Lines above the table: records narrower than the table (titles, notes), and a first line that
  counts the rows below it (scikit-learn's ``150,4,setosa,versicolor,virginica``).
- Header: the first table line, unless all its cells are numbers.
- Lines below the table: a contiguous block at the end of lines that are not rows: no delimiter
  at all (``Exported 2024-05-01``), a comment (``# ...``), a footer word (``Source: ...``), or
  fewer fields with text where the body has numbers.

:func:`one_column_problem` says what was seen when a file reads as one column although its lines
hold separators, so that is never accepted silently.
"""

from __future__ import annotations

import csv
import io
import re

from webapp.lazy import lazy_import

np = lazy_import("numpy")  # forms import the option names at start-up (webapp.lazy)

WHITESPACE = "whitespace"
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", WHITESPACE: "whitespace"}
QUOTES = {'"': 'double quote (")', "'": "single quote (')"}
SAMPLE_BYTES = 64 * 1024
SAMPLE_RECORDS = 200
# At most this many lines at the end are taken for footers (a longer block is more likely data).
MAX_FOOTER_LINES = 20
# A column of the body is numeric when this share of its present sampled cells are numbers.
NUMERIC_SHARE = 0.9
# Share of lines that must hold a separator for it to count as "obviously there".
SEEN_SHARE = 0.8

NUMBER_LIKE = re.compile(r"^[-+]?[\d.,\s\u00a0\u202f']*\d([eE][-+]?\d+)?$")
_MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "--", "."})
# Lines only a footer starts with: "Source: ...", "Exported 2024-05-01", "(42 rows)", "©".
_FOOTER_WORDS = re.compile(
    r"^\W*((sources?|notes?|remarks?)\s*:|(exported|generated|created|printed|downloaded"
    r"|extracted|retrieved)\s+(on|at|by|from|\d)|copyright\b|\u00a9|\(c\)\s)"
    r"|^\(\d+ rows?\)$",
    re.IGNORECASE,
)


# -- records -------------------------------------------------------------------------------


def _blank_splitter(quotechar: str) -> re.Pattern:
    q = re.escape(quotechar)
    return re.compile(rf"{q}((?:[^{q}]|{q}{q})*){q}(?=\s|$)|(\S+)")


_SPLITTERS = {q: _blank_splitter(q) for q in QUOTES}


def split_line(line: str, delimiter: str, quotechar: str = '"') -> list[str]:
    """The fields of one physical line (an unbalanced quote just stays in its field)."""
    if delimiter == WHITESPACE:
        fields = []
        for match in _SPLITTERS[quotechar].finditer(line):
            quoted, bare = match.groups()
            fields.append(bare if quoted is None else quoted.replace(quotechar * 2, quotechar))
        return fields
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar=quotechar, strict=False))
    except (StopIteration, csv.Error):
        return [line]


def sample_records(text: str, delimiter: str, quotechar: str = '"') -> list[list[str]]:
    """The first records (a blank line is an empty record, as pandas counts them for
    ``skiprows``), dropping a record the sample cut at its end."""
    sample = text[:SAMPLE_BYTES]
    cut = len(sample) < len(text)
    if delimiter == WHITESPACE:  # one record per line: pandas' whitespace reader does the same
        lines = sample.split("\n")
        if lines and (cut or not lines[-1].strip()):
            lines.pop()
        return [split_line(line, delimiter, quotechar) for line in lines[: SAMPLE_RECORDS + 1]]
    reader = csv.reader(
        io.StringIO(sample, newline=""), delimiter=delimiter, quotechar=quotechar, strict=False
    )
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


def trim(fields: list[str]) -> list[str]:
    """Without trailing empty fields: exports end data rows (not the header) with a delimiter,
    and title lines with a run of them (``Report,,,``)."""
    while fields and not fields[-1].strip():
        fields = fields[:-1]
    return fields


def modal_width(records) -> tuple[int, float]:
    """The most common number of fields among non-blank records, and its share."""
    widths = [len(fields) for fields in records if fields]
    if not widths:
        return 0, 0.0
    values, counts = np.unique(widths, return_counts=True)
    best = int(np.argmax(counts))
    return int(values[best]), float(counts[best]) / len(widths)


def show(fields: list[str], delimiter: str) -> str:
    """A record as a short quotation for a note."""
    text = (" " if delimiter == WHITESPACE else delimiter).join(f.strip() for f in fields)
    text = " ".join(text.split())
    return f"“{text[:60]}…”" if len(text) > 60 else f"“{text}”"


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in _MISSING_CELLS


def numeric_columns(
    records: list[list[str]], width: int, share: float = NUMERIC_SHARE
) -> list[bool]:
    """For each of ``width`` columns, whether ``share`` of the full-width records hold numbers
    there (the first one aside: it may be the header)."""
    rows = [r for r in records if len(r) == width][1:]
    flags = []
    for j in range(width):
        cells = [r[j].strip() for r in rows if not _is_missing(r[j])]
        numbers = sum(1 for c in cells if NUMBER_LIKE.match(c))
        flags.append(bool(cells) and numbers >= share * len(cells))
    return flags


# -- quote and delimiter -------------------------------------------------------------------

_SINGLE_QUOTED_LINE = re.compile(r"\s*'[^'\n]*'(?:(?:\s*[,;\t|]\s*|\s+)'[^'\n]*')*\s*[,;\t|]?\s*")
_SINGLE_FIELD = re.compile(r"(?:^|[,;\t| ])\s*'[^'\n]*'\s*(?=[,;\t| \r]|$)")
_DOUBLE_FIELD = re.compile(r'(?:^|[,;\t| ])\s*"[^"\n]*"\s*(?=[,;\t| \r]|$)')


def detect_quotechar(text: str) -> str:
    """``'`` when the first line is all single-quoted names or most lines hold single-quoted
    fields (and fewer double-quoted ones); else ``"``."""
    lines = [line for line in text[:SAMPLE_BYTES].split("\n")[:SAMPLE_RECORDS] if line.strip()]
    if not lines:
        return '"'
    if _SINGLE_QUOTED_LINE.fullmatch(lines[0].rstrip("\r")):
        return "'"
    single = sum(1 for line in lines if _SINGLE_FIELD.search(line))
    double = sum(1 for line in lines if _DOUBLE_FIELD.search(line))
    return "'" if single >= 0.5 * len(lines) and single > double else '"'


def delimiter_candidates(text: str, quotechar: str = '"') -> dict[str, tuple[float, int]]:
    """``{delimiter: (consistency, width)}`` for each delimiter that splits the sample into two
    or more fields (whitespace only where that is consistent and gives a numeric column: a
    space inside values, unquoted, makes rows of varying widths)."""
    candidates = {}
    for delimiter in DELIMITERS:
        records = sample_records(text, delimiter, quotechar)
        width, share = modal_width(records)
        if width < 2:
            continue
        if delimiter == WHITESPACE:
            # Titles above and footers below have words too: consistency counts in the body.
            at = [i for i, r in enumerate(records) if len(r) == width]
            _, share = modal_width(records[at[0] : at[-1] + 1])
            if not (share >= SEEN_SHARE and _whitespace_table(records, width)):
                continue
        candidates[delimiter] = (share, width)
    return candidates


def _whitespace_table(records: list[list[str]], width: int) -> bool:
    """Blanks separate columns only if a column then holds numbers, and not when a one-word
    first line stands right above the table lines: that is the header of one column whose
    values have blanks (``date`` above ``Jan 1 2000``); a title has words and a blank line."""
    if not any(numeric_columns(records, width, share=0.5)):
        return False
    lines = [i for i, r in enumerate(records) if r]
    if len(lines) > 1 and len(records[lines[0]]) == 1:
        return lines[1] != lines[0] + 1
    return True


def detect_delimiter(text: str, quotechar: str = '"') -> str:
    """The candidate that splits the sample into the most fields, consistently across rows."""
    best, best_score = ",", (0.0, 0)
    for delimiter, (share, width) in delimiter_candidates(text, quotechar).items():
        score = (round(share, 1), width)  # consistency first, then more fields
        better = score > best_score
        if delimiter == WHITESPACE and score == best_score:
            # "a, b, c" splits alike on commas and blanks; "x 1,5 2,5" too, but there the
            # commas leave blanks inside the values: then the blanks are the separators.
            better = _blanks_inside(sample_records(text, best, quotechar))
        if better:
            best, best_score = delimiter, score
    return best


def _blanks_inside(records: list[list[str]]) -> bool:
    cells = [c.strip() for r in records for c in r if c.strip()]
    return bool(cells) and sum(1 for c in cells if re.search(r"\s", c)) >= 0.5 * len(cells)


# -- which lines are the table -------------------------------------------------------------


def detect_skip_first(text: str, delimiter: str, quotechar: str = '"') -> int:
    """How many lines above the table are not part of it (titles, notes, a count line)."""
    records = sample_records(text, delimiter, quotechar)
    trimmed = [trim(r) for r in records]
    width, _ = modal_width(trimmed)
    if width == 0:
        return 0

    def starts_table(i: int) -> bool:
        n = len(trimmed[i])
        if delimiter != WHITESPACE:
            return n >= width
        # Whitespace: a title has words too, so a table line is as wide as the table (its
        # header may lack the row-name field, as R's write.table writes it) and is followed
        # by another table line (blank lines between do not count).
        following = next((r for r in trimmed[i + 1 :] if r), [None] * width)
        return (n == width or n == width - 1 >= 2) and len(following) == width

    start = next((i for i in range(len(trimmed)) if starts_table(i)), 0)
    if _counts_the_rows_below(trimmed[start], text, start):
        start += 1
        while start < len(trimmed) - 1 and not trimmed[start]:
            start += 1
    return start


def _counts_the_rows_below(fields: list[str], text: str, index: int) -> bool:
    """A first line like ``150,4,setosa,versicolor,virginica``: the number of rows below it,
    then more numbers and names. Data rows do not mix numbers and words that way."""
    cells = [c.strip() for c in fields]
    if len(cells) < 2 or not cells[0].isdigit():
        return False
    words = [c for c in cells if c and not NUMBER_LIKE.match(c)]
    if not words or len(words) == len(cells):
        return False
    # Lines below (blank ones too: a few are tolerated, as is a header below the count).
    below = text.count("\n", 0, _content_end(text)) - index
    return int(cells[0]) <= below <= int(cells[0]) + 3


def detect_header(text: str, delimiter: str, quotechar: str, skip_first: int) -> int | None:
    """The line (counted after ``skip_first``) of the column names: the first non-blank one,
    or None when it is all numbers (the file has no header)."""
    records = sample_records(text, delimiter, quotechar)[skip_first:]
    first = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), 0)
    cells = [cell.strip() for cell in (records[first] if records else []) if cell.strip()]
    if cells and all(NUMBER_LIKE.match(cell) for cell in cells):
        return None
    return first


def body_records(
    text: str, delimiter: str, quotechar: str, skip_first: int, header_row: int | None
) -> list[list[str]]:
    """The sampled records below the header (or from the first table line without one)."""
    start = skip_first + (0 if header_row is None else header_row + 1)
    return sample_records(text, delimiter, quotechar)[start:]


def _content_end(text: str) -> int:
    """Where the text ends without trailing blanks (no copy of a large text)."""
    end = len(text)
    while end and text[end - 1].isspace():
        end -= 1
    return end


def last_lines(text: str, n: int) -> list[str]:
    """The last ``n`` lines, counted up from the last non-blank line (blank lines count)."""
    end = _content_end(text)
    start = max(0, end - SAMPLE_BYTES)
    lines = text[start:end].split("\n")
    if start > 0:
        lines = lines[1:]  # the first may be cut
    return lines[-n:] if n > 0 else []


def drop_last_lines(text: str, n: int) -> str:
    """``text`` without its last ``n`` lines (counted as :func:`last_lines` does)."""
    if n <= 0:
        return text
    end = _content_end(text)
    for _ in range(n):
        end = text.rfind("\n", 0, end)
        if end < 0:
            return ""
    return text[: end + 1]


def detect_skip_last(
    text: str, delimiter: str, quotechar: str, skip_first: int, header_row: int | None
) -> int:
    """How many lines at the end are not rows (footers), see the module docstring."""
    body = [trim(r) for r in body_records(text, delimiter, quotechar, skip_first, header_row)]
    width, _ = modal_width(body)
    if width < 2:
        return 0
    numeric = numeric_columns(body, width)
    # Never past the first row: the sample of a small file is the whole file.
    n_lines = text.count("\n", 0, _content_end(text)) + 1
    room = n_lines - skip_first - (0 if header_row is None else header_row + 1) - 1
    lines = last_lines(text, min(MAX_FOOTER_LINES, max(room, 0)))
    skip = 0
    for k, line in enumerate(reversed(lines), start=1):
        if not line.strip():
            continue
        if not _is_footer(line, delimiter, quotechar, width, numeric):
            break
        skip = k
    return skip


def _is_footer(line: str, delimiter: str, quotechar: str, width: int, numeric) -> bool:
    if line.count(quotechar) % 2:  # closes a quoted value that spans lines: part of a row
        return False
    fields = split_line(line.rstrip("\r"), delimiter, quotechar)
    cells = [c.strip() for c in trim(fields)]
    if not cells:
        return False
    if cells[0].startswith("#") or len(fields) == 1 or _FOOTER_WORDS.match(line.strip()):
        return True
    mismatch = any(
        numeric[j] and not _is_missing(cell) and not NUMBER_LIKE.match(cell)
        for j, cell in enumerate(cells[:width])
    )
    return len(cells) < width and mismatch


# -- decimal mark --------------------------------------------------------------------------

_COMMA_DECIMAL = re.compile(
    r"^[-+]?(\d{1,3}(\.\d{3})+,\d+|\d+,\d{1,2}|\d+,\d{4,}|\d{4,},\d+|0,\d+)$"
)
_POINT_DECIMAL = re.compile(
    r"^[-+]?(\d{1,3}(,\d{3})+\.\d+|\d+\.\d{1,2}|\d+\.\d{4,}|\d{4,}\.\d+|0\.\d+)$"
)


def decimal_mark(records: list[list[str]]) -> str:
    """``","`` when ``records`` have more unambiguous ``1,5``-style numbers than ``1.5``-style
    ones. ``1,234`` and ``1.234`` are ambiguous (thousands or decimals) and count for neither."""
    votes = {".": 0, ",": 0}
    for fields in records:
        for cell in fields:
            cell = cell.strip()
            if _COMMA_DECIMAL.match(cell):
                votes[","] += 1
            elif _POINT_DECIMAL.match(cell):
                votes["."] += 1
    return "," if votes[","] > votes["."] else "."


# -- one column ------------------------------------------------------------------------------

# (what is seen, how to find it, how lines split on it, what a value must not contain)
_SEPARATORS_SEEN = (
    ("tabs", re.compile(r"\S[^\S\n]*\t[^\S\n]*\S"), WHITESPACE, "a tab"),
    ("runs of spaces", re.compile(r"\S {2,}\S"), WHITESPACE, "a space"),
    ("commas", re.compile(","), ",", "a comma"),
    ("semicolons", re.compile(";"), ";", "a semicolon"),
    ("pipes", re.compile(r"\|"), "|", "a pipe"),
)


def one_column_problem(text: str, delimiter: str, quotechar: str, skip_first: int) -> dict | None:
    """What makes a one-column reading wrong, or None when one column is right.

    ``{"delimiter": d, "width": n}`` when another delimiter splits the lines consistently;
    ``{"seen": "runs of spaces", "share": 0.9, "low": 2, "high": 5, "contains": "a space"}``
    when most lines hold a separator in varying numbers (values with blanks, unquoted)."""
    candidates = {
        d: score
        for d, score in delimiter_candidates(text, quotechar).items()
        if d != delimiter and score[0] >= SEEN_SHARE
    }
    if candidates:
        best = max(candidates, key=lambda d: (round(candidates[d][0], 1), candidates[d][1]))
        return {"delimiter": best, "width": candidates[best][1]}
    lines = [
        line.rstrip("\r")
        for line in text[:SAMPLE_BYTES].split("\n")[skip_first : skip_first + SAMPLE_RECORDS]
        if line.strip()
    ]
    if len(lines) < 2:
        return None
    for name, pattern, split_on, contains in _SEPARATORS_SEEN:
        # Quoted separators are values ("a, b" in quotes): only those outside quotes count.
        widths = [
            len(split_line(line, split_on, quotechar))
            for line in lines
            if pattern.search(line.strip())
        ]
        widths = [w for w in widths if w >= 2]
        if len(widths) >= SEEN_SHARE * len(lines):
            return {"seen": name, "share": len(widths) / len(lines), "contains": contains,
                    "low": min(widths), "high": max(widths)}  # fmt: skip
    return None
