"""Forms of the data set pages (flask-wtf: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from webapp.services.csv_parsing import DECIMALS, DELIMITERS
from webapp.services.datasets import NAME_MAX

AUTO = "auto"
NO_HEADER = "none"
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso8859-15", "utf-16", "mac-roman")
HEADER_LINES = 10


class UploadForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file to upload.")],
        description="Comma, semicolon, tab or pipe separated; UTF-8 or Windows (Excel) encoding.",
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
    header_row = SelectField("Column names")

    def set_choices(self, detected: dict, current: dict) -> None:
        def auto(label):
            return (AUTO, f"Detect ({label})")

        encodings = list(dict.fromkeys([*ENCODINGS, current["encoding"]]))
        self.encoding.choices = [auto(detected["encoding"])] + [(e, e) for e in encodings]
        self.delimiter.choices = [auto(DELIMITERS[detected["delimiter"]])] + [
            (d, name) for d, name in DELIMITERS.items()
        ]
        self.decimal.choices = [auto(DECIMALS[detected["decimal"]])] + list(DECIMALS.items())
        self.header_row.choices = [
            auto(header_label(detected["header_row"])),
            (NO_HEADER, "None: the first line is data"),
        ] + [(str(i), header_label(i)) for i in range(HEADER_LINES)]

    def set_current(self, current: dict) -> None:
        self.encoding.data = current["encoding"]
        self.delimiter.data = current["delimiter"]
        self.decimal.data = current["decimal"]
        row = current["header_row"]
        self.header_row.data = NO_HEADER if row is None else str(row)

    def overrides(self) -> dict:
        """The service's overrides: ``"auto"`` asks for detection, ``None`` is no header."""
        row = self.header_row.data
        return {
            "encoding": self.encoding.data,
            "delimiter": self.delimiter.data,
            "decimal": self.decimal.data,
            "header_row": None if row == NO_HEADER else (AUTO if row == AUTO else int(row)),
        }


def header_label(row: int | None) -> str:
    return "none" if row is None else f"line {row + 1}"
