"""CSV detection and parsing over a matrix of real-world-like files (tests/fixtures/csv)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.preprocessing import infer_column
from webapp.errors import AppError, PayloadTooLarge, ValidationFailed
from webapp.services.csv_parsing import (
    WHITESPACE,
    NotCsv,
    ParseOptions,
    detect_decimal,
    detect_delimiter,
    detect_encoding,
    number_pattern,
    parse_csv,
)
from webapp.services.profiling import preview, profile_frame

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, overrides=None, **limits):
    return parse_csv(read(name), overrides, **limits)


# -- detection matrix ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "decimal", "header_row"),
    [
        ("utf8_bom.csv", "utf-8-sig", ",", ".", 0),
        ("cp1252_semicolon.csv", "cp1252", ";", ",", 0),
        ("tab_separated.csv", "utf-8", "\t", ".", 0),
        ("pipe.csv", "utf-8", "|", ".", 0),
        ("quoted_newlines.csv", "utf-8", ",", ".", 0),
        ("thousands_us.csv", "utf-8", ",", ".", 0),
        ("thousands_eu.csv", "utf-8", ";", ",", 0),
        ("na_tokens.csv", "utf-8", ",", ".", 0),
        ("dates.csv", "utf-8", ",", ".", 0),
        ("units_header.csv", "utf-8", ",", ".", 0),
        ("preamble.csv", "utf-8", ",", ".", (2, 0)),  # two lines skipped, then the header
        ("no_header.csv", "utf-8", ",", ".", None),
        ("latin1.csv", "cp1252", ",", ".", 0),
        ("crlf_trailing_delimiter.csv", "utf-8", ",", ".", 0),
    ],
)
def test_detects_how_the_file_is_written(name, encoding, delimiter, decimal, header_row):
    skip_first, header_row = header_row if isinstance(header_row, tuple) else (0, header_row)
    table = parse(name)
    expected = ParseOptions(encoding, delimiter, decimal, header_row, skip_first=skip_first)
    assert table.options == expected
    assert table.detected == table.options


def test_utf8_bom_is_not_part_of_the_first_column_name():
    table = parse("utf8_bom.csv")
    assert list(table.frame.columns) == ["name", "city", "score"]
    assert table.frame["city"].tolist() == ["Café Noir", "Zürich", "Montréal", "Reykjavík"]
    assert table.frame["score"].dtype == np.float64


def test_cp1252_accents_and_decimal_comma_with_thousands():
    frame = parse("cp1252_semicolon.csv").frame
    assert list(frame.columns) == ["Produit", "Catégorie", "Prix (€)", "Quantité"]
    assert frame["Produit"].iloc[0] == "Café crème"
    assert frame["Prix (€)"].tolist() == [1234.5, 2.75, 4.1, 3.95, 12345.0]
    assert frame["Quantité"].dtype == np.int64


def test_latin1_file_reads_with_accents():
    frame = parse("latin1.csv").frame
    assert list(frame.columns) == ["nom", "âge"]
    assert frame["nom"].tolist() == ["François", "Hélène", "Jérôme"]


@pytest.mark.parametrize(
    ("name", "column", "expected"),
    [
        ("thousands_us.csv", "population", [1234567, 98765, 12000, 950]),
        ("thousands_us.csv", "area_km2", [1234.5, 1234.5, 88.25, 2000.75]),
        ("thousands_eu.csv", "habitants", [1234567, 98765, 12000, 950]),
        ("thousands_eu.csv", "surface", [1234.5, 65.19, 49.51, 41.94]),
        ("tab_separated.csv", "petal length (cm)", [1.4, 4.7, 6.0, 1.3]),
        ("pipe.csv", "price", [3.5, 4.25, 5.0, 2.75]),
    ],
)
def test_numbers_with_thousands_separators_and_decimal_marks(name, column, expected):
    frame = parse(name).frame
    assert frame[column].tolist() == pytest.approx(expected)
    assert pd.api.types.is_numeric_dtype(frame[column])


def test_quoted_fields_with_commas_newlines_and_quotes():
    frame = parse("quoted_newlines.csv").frame
    assert frame.shape == (4, 3)
    assert frame["comment"].tolist() == [
        "Great product, would buy again",
        "Line one\nLine two, with a comma",
        'He said "wow"',
        "plain",
    ]
    assert frame["rating"].tolist() == [5, 3, 4, 2]


def test_missing_value_tokens_become_missing():
    frame = parse("na_tokens.csv").frame
    # NA, N/A, NaN, null, ?, -, empty, blank and NULL are all missing.
    assert frame["a"].isna().tolist() == [False, True, False, True, False, False]
    assert frame["a"].dtype == np.float64
    assert frame["b"].isna().tolist() == [False, False, True, False, True, False]
    assert frame["c"].isna().sum() == 4
    assert frame["d"].isna().sum() == 2


def test_headers_with_spaces_units_and_accents_are_stripped_not_mangled():
    frame = parse("units_header.csv").frame
    assert list(frame.columns) == ["Weight (kg)", "Height (cm)", "Température (°C)", "Name"]
    assert frame["Weight (kg)"].tolist() == [70.5, 82.0, 65.2]


def test_dates_in_day_first_and_iso_formats_are_read_as_dates_by_mlcore():
    frame = parse("dates.csv").frame
    day_first = infer_column(frame["day_first"])
    iso = infer_column(frame["iso"])
    assert (day_first.kind, day_first.details["format"]) == ("datetime", "%d/%m/%Y")
    assert (iso.kind, iso.details["format"]) == ("datetime", "ISO8601")


def test_title_lines_above_the_header_are_skipped():
    frame = parse("preamble.csv").frame
    assert list(frame.columns) == ["region", "units", "revenue"]
    assert frame["units"].tolist() == [10, 12, 7]


def test_a_file_without_header_gets_numbered_columns():
    frame = parse("no_header.csv").frame
    assert list(frame.columns) == ["column_1", "column_2", "column_3"]
    assert frame.shape == (3, 3)


def test_numbers_in_scientific_notation_are_data_not_a_header():
    table = parse_csv(b"1.510000e+02,7.5E-01\n7.500000e+01,2.0e-01\n1.41e+02,3e+00\n")
    assert table.options.header_row is None
    assert table.frame.shape == (3, 2)
    assert table.frame.iloc[0].tolist() == [151.0, 0.75]


def test_trailing_delimiters_on_data_rows_are_tolerated():
    frame = parse("crlf_trailing_delimiter.csv").frame
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_short_rows_are_padded_with_missing_values():
    frame = parse("short_rows.csv").frame
    assert frame.shape == (3, 3)
    assert frame["c"].isna().tolist() == [False, True, False]


def test_duplicate_and_empty_header_names_are_made_unique():
    frame = parse("duplicate_headers.csv").frame
    assert len(set(frame.columns)) == 4
    assert "column_3" in frame.columns


def test_single_column_is_allowed():
    frame = parse("single_column.csv").frame
    assert list(frame.columns) == ["value"]
    assert frame["value"].tolist() == [3.2, 1.5, 4.8, 2.2]


def test_a_column_of_missing_values_is_kept_as_all_missing():
    frame = parse("all_missing_column.csv").frame
    assert frame["empty"].isna().all()
    assert infer_column(frame["empty"]).kind == "dropped"


def test_rows_with_every_value_missing_are_skipped_with_a_warning():
    table = parse_csv(b"a,b\n1,2\n,\nNA,-\n3,4\n")
    assert table.frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    assert "Skipped 2 row(s)" in table.warnings[0]


def test_mostly_numeric_text_keeps_words_and_canonical_numbers():
    frame = parse_csv(b"x;y\n1,5;a\n2,5;b\noops;c\n".replace(b"\n", b"\r\n")).frame
    assert frame["x"].tolist() == ["1.5", "2.5", "oops"]


# -- overrides -------------------------------------------------------------------------------


def test_overrides_win_over_detection_and_detected_is_reported():
    table = parse("cp1252_semicolon.csv", {"decimal": "."})
    assert table.options.decimal == "."
    assert table.detected.decimal == ","
    # Read with a decimal point, "2,75" is no number: the column stays text.
    assert not pd.api.types.is_numeric_dtype(table.frame["Prix (€)"])


def test_header_row_override_none_reads_the_header_as_data():
    table = parse("pipe.csv", {"header_row": None})
    assert table.frame.shape == (5, 3)
    assert table.frame["column_1"].iloc[0] == "sku"


def test_auto_means_detect():
    table = parse("pipe.csv", {"delimiter": "auto", "encoding": "auto", "header_row": "auto"})
    assert table.options == ParseOptions("utf-8", "|", ".", 0)


def test_a_wrong_delimiter_that_leaves_one_column_is_a_422_naming_the_right_one():
    with pytest.raises(ValidationFailed, match="split into 3 values on pipe") as caught:
        parse("pipe.csv", {"delimiter": ";"})
    assert caught.value.details[0]["field"] == "delimiter"


def test_wrong_encoding_override_is_a_clear_422():
    with pytest.raises(ValidationFailed, match="not valid utf-8"):
        parse("cp1252_semicolon.csv", {"encoding": "utf-8"})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"encoding": "no-such-codec"}, "encoding"),
        ({"encoding": "rot13"}, "encoding"),
        ({"delimiter": "x"}, "delimiter"),
        ({"decimal": ";"}, "decimal"),
        ({"header_row": -1}, "header_row"),
        ({"header_row": 50}, "header_row"),
        ({"decimal": ",", "delimiter": ","}, "decimal"),
    ],
)
def test_bad_overrides_name_the_field(overrides, field):
    with pytest.raises(ValidationFailed) as info:
        parse("pipe.csv", overrides)
    assert info.value.details[0]["field"] == field


# -- bad files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("empty.csv", ValidationFailed, "empty"),
        ("blank_lines.csv", ValidationFailed, "empty"),
        ("header_only.csv", ValidationFailed, "no data rows"),
        ("image_renamed.csv", NotCsv, "PNG image"),
        ("archive_renamed.csv", NotCsv, "ZIP archive"),
        ("ragged.csv", ValidationFailed, "Data row 2 has more values"),
        ("unclosed_quote.csv", ValidationFailed, "never closed"),
    ],
)
def test_bad_files_raise_clear_errors(name, error, message):
    with pytest.raises(error, match=message):
        parse(name)


def test_binary_bytes_without_magic_are_refused():
    with pytest.raises(NotCsv):
        parse_csv(b"a,b\n\x00\x01\x02\x03,\x00\n" * 10)


def test_a_ragged_row_beyond_the_sample_names_its_line():
    content = b"a,b\n" + b"1,2\n" * 300 + b"3,4,5,6,7\n"
    with pytest.raises(ValidationFailed, match="Line 302 has 5 fields"):
        parse_csv(content)


def test_row_and_column_limits():
    with pytest.raises(PayloadTooLarge, match="more than 3 rows"):
        parse_csv(b"a\n1\n2\n3\n4\n", max_rows=3)
    assert len(parse_csv(b"a\n1\n2\n3\n", max_rows=3).frame) == 3
    with pytest.raises(PayloadTooLarge, match="4 columns; the limit is 3"):
        parse_csv(b"a,b,c,d\n1,2,3,4\n", max_columns=3)


def test_utf16_with_bom_is_read():
    content = codecs.BOM_UTF16_LE + "a;b\n1,5;x\n2,5;y\n".encode("utf-16-le")
    table = parse_csv(content)
    assert table.options.encoding == "utf-16"
    assert table.frame["a"].tolist() == [1.5, 2.5]


# -- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"\xef\xbb\xbfa", "utf-8-sig"), (b"caf\xc3\xa9", "utf-8"), (b"caf\xe9", "cp1252")],
)
def test_detect_encoding(content, expected):
    assert detect_encoding(content) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ("just one column\nvalue\n", ","),
        ('"x, y";z\n"1, 2";3\n', ";"),
    ],
)
def test_detect_delimiter(text, expected):
    assert detect_delimiter(text) == expected


@pytest.mark.parametrize(
    ("text", "delimiter", "expected"),
    [
        ("a;b\n1,5;2,25\n", ";", ","),
        ("a;b\n1.5;2.25\n", ";", "."),
        ('a,b\n"1,234.5",2\n', ",", "."),
        ("a;b\n1.234,5;2\n", ";", ","),
        ("a;b\n1.234;2\n", ";", "."),  # ambiguous: the default
    ],
)
def test_detect_decimal(text, delimiter, expected):
    assert detect_decimal(text, delimiter, 0) == expected


@pytest.mark.parametrize(
    ("decimal", "good", "bad"),
    [
        (
            ".",
            ["1", "-1.5", "1,234", "1,234,567.89", "1 234.5", ".5", "1e5", "+3"],
            ["1,5", "1.2.3"],
        ),
        (",", ["1", "-1,5", "1.234", "1.234.567,89", "1 234,5", "1e5"], ["1.5", "1,2,3"]),
    ],
)
def test_number_pattern(decimal, good, bad):
    pattern = number_pattern(decimal)
    assert all(pattern.fullmatch(v) for v in good)
    assert not any(pattern.fullmatch(v) for v in bad)


# -- properties ------------------------------------------------------------------------------

CSV_ALPHABET = ',;\t|"\n\r 0123456789.-+eE?aZé€NA'


@given(st.one_of(st.binary(max_size=400), st.text(CSV_ALPHABET, max_size=400).map(str.encode)))
@settings(max_examples=400, deadline=None, derandomize=True, database=None)
def test_any_input_parses_or_fails_with_a_clear_error(content):
    """Whatever arrives, the answer is a table or an AppError (a 4xx), never a crash, and
    what is stored (profile, preview) is strict JSON, as PostgreSQL's JSON type requires."""
    try:
        table = parse_csv(content, max_rows=1000, max_columns=100)
    except AppError as exc:
        assert 400 <= exc.status < 500 and exc.message
        return
    assert len(table.frame) > 0
    json.dumps(profile_frame(table.frame), allow_nan=False)
    json.dumps(preview(table.frame), allow_nan=False)


def test_profile_of_extreme_numbers_is_strict_json():
    frame = parse_csv(b"a,b\n1e308,1\n-1e308,2\n5,3\n").frame
    profile = profile_frame(frame)
    json.dumps(profile, allow_nan=False)
    assert profile["columns"][0]["histogram"] is None


# -- whitespace-separated tables (issue 13, item 1) ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "columns", "n_rows", "numeric"),
    [
        ("whitespace_single.csv", ["height", "weight", "age", "sex"], 24, ["height", "age"]),
        ("whitespace_aligned.csv", ["year", "month", "rain", "temp"], 24, ["rain", "temp"]),
        ("whitespace_mixed_tabs.csv", ["id", "group", "score", "weight"], 20, ["score"]),
    ],
)
def test_whitespace_separated_tables_are_read_as_columns(name, columns, n_rows, numeric):
    table = parse(name)
    assert table.options.delimiter == WHITESPACE
    assert list(table.frame.columns) == columns
    assert len(table.frame) == n_rows
    assert all(pd.api.types.is_numeric_dtype(table.frame[c]) for c in numeric)
    assert table.detected == table.options


def test_r_write_table_output_names_the_row_name_column():
    table = parse("whitespace_r_rownames.csv")
    assert list(table.frame.columns) == ["column_1", "speed", "dist"]
    assert table.frame["speed"].tolist()[:3] == [4, 4, 7]
    assert "R writes row names" in table.warnings[0]


def test_aligned_values_with_unquoted_blanks_are_a_422_saying_what_was_seen():
    with pytest.raises(ValidationFailed) as caught:
        parse("whitespace_values_with_blanks.csv")
    message = caught.value.message
    assert "read as a single value" in message and "runs of spaces" in message
    assert "3 to 4 values per line" in message and "Quote the values" in message


def test_choosing_a_delimiter_that_leaves_one_column_names_the_one_that_splits():
    with pytest.raises(ValidationFailed, match="split into 4 values on whitespace") as caught:
        parse("whitespace_single.csv", {"delimiter": ","})
    assert caught.value.details[0]["field"] == "delimiter"
    assert parse("whitespace_single.csv", {"delimiter": "whitespace"}).frame.shape == (24, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x y z\na 1,5 2,5\nb 2,5 3,5\nc 3,25 4,5\n", WHITESPACE),  # commas inside values
        ("a, b, c\n1, 2, 3\n4, 5, 6\n", ","),  # commas then blanks: the commas separate
        ("a\tb\tc\n1\t\t3\n4\t5\t6\n7\t8\t\n", "\t"),  # empty fields need the tab
        ("name\nJohn Smith\nMary Jones\nAnn Lee\nBob Stone\n", ","),  # one column of names
        ("date\nJan 1 2000\nFeb 2 2000\nMar 3 2001\nApr 4 2002\n", ","),  # one date column
        ("Iris data\n5.1 3.5 1.4 0.2\n4.9 3.0 1.4 0.2\n4.7 3.2 1.3 0.2\n", WHITESPACE),
    ],
)
def test_detect_whitespace_only_where_blanks_separate_columns(text, expected):
    assert detect_delimiter(text) == expected


def test_a_blank_line_between_header_and_rows_of_a_whitespace_table():
    table = parse_csv(b"a b c\n\n1 2 3\n4 5 6\n")
    assert list(table.frame.columns) == ["a", "b", "c"] and table.warnings == []


def test_one_column_of_values_with_blanks_stays_one_column():
    frame = parse_csv(b"name\nJohn Smith\nMary Jones\nAnn Lee\nBob Stone\n").frame
    assert list(frame.columns) == ["name"] and frame["name"].iloc[0] == "John Smith"
    # Separators inside quotes are part of the values: one column, rightly.
    quoted = parse_csv(b'comment\n"Not great, not terrible"\n"Good, really"\n"Bad, sadly"\n')
    assert quoted.frame["comment"].tolist()[0] == "Not great, not terrible"


# -- lines that are not rows (issue 13, item 2) --------------------------------------------------


def test_footer_lines_are_left_out_with_a_note():
    table = parse("footer_lines.csv")
    assert table.options.skip_last == 2  # the blank line above them needs no skipping
    assert len(table.frame) == 12
    assert set(table.frame["region"]) == {"north", "south", "east", "west"}
    assert table.frame["units"].dtype == np.int64
    note = table.warnings[0]
    assert "Left out 2 lines at the end" in note
    assert "“Source: Sales department, quarterly export”" in note and "Exported 2024-05-01" in note


def test_a_first_line_counting_the_rows_is_neither_header_nor_data():
    table = parse("count_line.csv")
    assert (table.options.skip_first, table.options.header_row) == (1, None)
    assert table.frame.shape == (30, 5)
    assert all(pd.api.types.is_numeric_dtype(table.frame[c]) for c in table.frame)
    assert "“30,4,setosa,versicolor,virginica”" in table.warnings[0]


def test_titles_above_and_footers_below_a_whitespace_table():
    table = parse("whitespace_aligned.csv")
    assert (table.options.skip_first, table.options.skip_last) == (2, 1)
    assert "“Monthly rainfall and temperature, station 4711”" in table.warnings[0]
    assert "“Source: synthetic station records”" in table.warnings[1]


def test_title_lines_are_named_in_a_note():
    assert "“Sales report exported 2024-05-01”" in parse("preamble.csv").warnings[0]
    table = parse_csv(b"# generated by a tool\n# units: cm\nx,y\n1,2\n3,4\n")
    assert table.options.skip_first == 2 and list(table.frame.columns) == ["x", "y"]


def test_skip_options_override_detection():
    every_line = parse("footer_lines.csv", {"skip_last": 0})
    assert len(every_line.frame) == 14 and every_line.detected.skip_last == 2
    assert not any("Left out" in w for w in every_line.warnings)
    counted = parse("count_line.csv", {"skip_first": 0, "header_row": None})
    assert counted.frame.shape == (31, 5) and counted.frame["column_1"].iloc[0] == 30
    # header_row counts after the skipped lines, as pandas' skiprows and header do.
    table = parse("preamble.csv", {"skip_first": 0, "header_row": 2})
    assert list(table.frame.columns) == ["region", "units", "revenue"]
    fewer = parse("footer_lines.csv", {"skip_last": 5})
    assert len(fewer.frame) == 10 and "Left out 4 lines at the end" in fewer.warnings[0]


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (b'id,comment\n1,"a\nb"\n2,"multi\nline text"\n', 2),  # a quoted value ends the file
        (b"kind,n\nA,1\nB,2\nNotes,3\n", 3),  # a footer word as a category is data
        (b"a,b,c\n1,2,3\n4,5\n", 2),  # a short last row is still a row
    ],
)
def test_last_rows_that_are_rows_stay(text, rows):
    table = parse_csv(text)
    assert table.options.skip_last == 0 and len(table.frame) == rows


@pytest.mark.parametrize(("key", "value"), [("skip_first", -1), ("skip_last", "x")])
def test_bad_skip_options_name_the_field(key, value):
    with pytest.raises(ValidationFailed) as caught:
        parse("footer_lines.csv", {key: value})
    assert caught.value.details[0]["field"] == key


def test_skipping_every_line_says_so():
    with pytest.raises(ValidationFailed) as caught:
        parse("footer_lines.csv", {"skip_last": 50})
    assert caught.value.details[0]["field"] == "skip_last"
    with pytest.raises(ValidationFailed) as caught:
        parse("no_header.csv", {"skip_first": 3, "header_row": None})
    assert "after skipping 3" in caught.value.details[0]["message"]


def test_options_stored_before_the_skip_options_read_as_before():
    stored = {"encoding": "utf-8", "delimiter": ",", "decimal": ".", "header_row": 0}
    table = parse("footer_lines.csv", stored)
    assert (table.options.skip_first, table.options.skip_last) == (0, 0)
    assert len(table.frame) == 14  # footers were rows then; the stored parse must not change


# -- quote characters (issue 13, item 4) ---------------------------------------------------------


def test_names_and_values_quoted_with_single_quotes_lose_their_quotes():
    table = parse("single_quoted.csv")
    assert table.options.quotechar == "'"
    assert list(table.frame.columns) == ["vote", "age", "income", "party"]
    assert set(table.frame["vote"]) == {"y", "n"}
    assert table.frame["age"].dtype == np.int64


def test_apostrophes_inside_values_are_not_quotes():
    table = parse_csv(b"name,n\nO'Brien,1\nD'Arcy,2\nit's,3\n")
    assert table.options.quotechar == '"'
    assert table.frame["name"].tolist() == ["O'Brien", "D'Arcy", "it's"]
