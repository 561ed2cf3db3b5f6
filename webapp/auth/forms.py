"""Account forms. They only check that fields are present and that repeated passwords match;
the rules for emails, usernames and passwords live in ``webapp.services.users`` and come
back as field errors (see ``webapp.web.apply_service_errors``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired

from webapp.services.users import USERNAME_MAX, USERNAME_MIN

REQUIRED = "This field is required."
MISMATCH = "The two passwords do not match."
# Browser hints only (no server rule depends on them): they save a round trip for typos.
USERNAME_HTML = {
    "autocomplete": "username",
    "minlength": USERNAME_MIN,
    "maxlength": USERNAME_MAX,
    "autocapitalize": "none",
    "spellcheck": "false",
}
NEW_PASSWORD_HTML = {"autocomplete": "new-password", "minlength": 8}


def _required():
    # InputRequired, not DataRequired, for passwords: a password of spaces is still a password.
    return [InputRequired(message=REQUIRED)]


class SignupForm(FlaskForm):
    email = EmailField(
        "Email", [DataRequired(message=REQUIRED)], render_kw={"autocomplete": "email"}
    )
    username = StringField(
        "Username",
        [DataRequired(message=REQUIRED)],
        description="3 to 32 letters, digits, '_', '.' or '-'.",
        render_kw=USERNAME_HTML,
    )
    password = PasswordField(
        "Password",
        _required(),
        description="At least 8 characters.",
        render_kw=NEW_PASSWORD_HTML,
    )
    confirm = PasswordField(
        "Password again",
        [*_required(), EqualTo("password", message=MISMATCH)],
        render_kw={"autocomplete": "new-password"},
    )
    next = HiddenField()


class LoginForm(FlaskForm):
    login = StringField(
        "Username or email",
        [DataRequired(message=REQUIRED)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password", _required(), render_kw={"autocomplete": "current-password"}
    )
    remember = BooleanField("Remember me on this device")
    next = HiddenField()


class ProfileForm(FlaskForm):
    username = StringField(
        "Username",
        [DataRequired(message=REQUIRED)],
        description="3 to 32 letters, digits, '_', '.' or '-'.",
        render_kw=USERNAME_HTML,
    )
    email = EmailField(
        "Email", [DataRequired(message=REQUIRED)], render_kw={"autocomplete": "email"}
    )
    current_password = PasswordField(
        "Your password (only to change the email)",
        description="The email is where your account's mail goes, so changing it needs it.",
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", _required(), render_kw={"autocomplete": "current-password"}
    )
    new_password = PasswordField(
        "New password",
        _required(),
        description="At least 8 characters.",
        render_kw=NEW_PASSWORD_HTML,
    )
    confirm = PasswordField(
        "New password again",
        [*_required(), EqualTo("new_password", message=MISMATCH)],
        render_kw={"autocomplete": "new-password"},
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Your password, to confirm",
        _required(),
        render_kw={"autocomplete": "current-password"},
    )


class ApiTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        [DataRequired(message=REQUIRED)],
        description="What the token is for, e.g. “nightly export”.",
        render_kw={"maxlength": 64, "autocomplete": "off"},
    )
    scope = SelectField(
        "Access",
        choices=[
            SelectChoice("read", "Read only (GET requests)"),
            SelectChoice("write", "Read and write"),
        ],
        default="read",
    )
