"""Forms of the data set pages (flask-wtf: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from webapp.services.csv_parsing import DECIMALS, DELIMITERS, QUOTES, WHITESPACE
from webapp.services.datasets import NAME_MAX

AUTO = "auto"
NO_HEADER = "none"
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso8859-15", "utf-16", "mac-roman")
HEADER_LINES = 10
SKIP_LINES = 30  # choices offered for the skip options (a larger current value is added)
DELIMITER_LABELS = {**DELIMITERS, WHITESPACE: "whitespace (runs of spaces or tabs)"}


class UploadForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file to upload.")],
        description="Comma, semicolon, tab, pipe or space separated; UTF-8 or Windows (Excel) "
        "encoding.",
    )
    name = StringField(
        "Name (optional)",
        validators=[Optional(), Length(max=NAME_MAX)],
        description="Defaults to the file name.",
    )


class RenameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=NAME_MAX)])


class DeleteForm(FlaskForm):
    """Only the CSRF token: the confirmation page is the confirmation."""


class ParseForm(FlaskForm):
    """Override what detection chose; each select offers "detect" and the usual values."""

    encoding = SelectField("Encoding")
    delimiter = SelectField("Delimiter")
    decimal = SelectField("Decimal mark")
    # Optional: a form posted without them (an older page) keeps their current values.
    quotechar = SelectField("Quote character", validators=[Optional()])
    skip_first = SelectField("Skip the first lines", validators=[Optional()])
    header_row = SelectField("Column names", description="Counted after the skipped lines.")
    skip_last = SelectField("Skip the last lines", validators=[Optional()])

    def set_choices(self, detected: dict, current: dict) -> None:
        def auto(label):
            return (AUTO, f"Detect ({label})")

        encodings = list(dict.fromkeys([*ENCODINGS, current["encoding"]]))
        self.encoding.choices = [auto(detected["encoding"])] + [(e, e) for e in encodings]
        self.delimiter.choices = [auto(DELIMITER_LABELS[detected["delimiter"]])] + list(
            DELIMITER_LABELS.items()
        )
        self.decimal.choices = [auto(DECIMALS[detected["decimal"]])] + list(DECIMALS.items())
        self.quotechar.choices = [auto(QUOTES[detected.get("quotechar", '"')])] + list(
            QUOTES.items()
        )
        self.header_row.choices = [
            auto(header_label(detected["header_row"])),
            (NO_HEADER, "None: the first line is data"),
        ] + [(str(i), header_label(i)) for i in range(HEADER_LINES)]
        for name in ("skip_first", "skip_last"):
            counts = sorted({*range(SKIP_LINES + 1), int(current.get(name, 0))})
            getattr(self, name).choices = [auto(lines_label(detected.get(name, 0)))] + [
                (str(n), lines_label(n)) for n in counts
            ]

    def set_current(self, current: dict) -> None:
        self.encoding.data = current["encoding"]
        self.delimiter.data = current["delimiter"]
        self.decimal.data = current["decimal"]
        self.quotechar.data = current.get("quotechar", '"')
        row = current["header_row"]
        self.header_row.data = NO_HEADER if row is None else str(row)
        self.skip_first.data = str(current.get("skip_first", 0))
        self.skip_last.data = str(current.get("skip_last", 0))

    def overrides(self) -> dict:
        """The service's overrides: ``"auto"`` asks for detection, ``None`` is no header."""
        row = self.header_row.data

        def count(value: str):
            return AUTO if value == AUTO else int(value)

        overrides = {
            "encoding": self.encoding.data,
            "delimiter": self.delimiter.data,
            "decimal": self.decimal.data,
            "header_row": None if row == NO_HEADER else count(row),
        }
        if self.quotechar.data:
            overrides["quotechar"] = self.quotechar.data
        for name in ("skip_first", "skip_last"):
            if getattr(self, name).data:
                overrides[name] = count(getattr(self, name).data)
        return overrides


def header_label(row: int | None) -> str:
    """The header choice, counted after the skipped lines."""
    return "none" if row is None else f"line {row + 1}"


def lines_label(n: int) -> str:
    return "none" if not n else f"{n} line" + ("s" if n != 1 else "")
