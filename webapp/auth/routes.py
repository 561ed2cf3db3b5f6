"""Browser account pages (flask-login sessions, flask-wtf forms).

Every form that comes back with errors is re-rendered with status 422, so scripts and htmx
can tell a rejected form from a page (the browser shows it the same way).
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

from flask import (
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable

from webapp.auth import bp
from webapp.auth.forms import (
    ApiTokenForm,
    DeleteAccountForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    SignupForm,
)
from webapp.db import MAX_ID, get_session
from webapp.errors import Conflict, ValidationFailed
from webapp.extensions import login_manager, login_rate_limit, signup_rate_limit
from webapp.models import User
from webapp.services import users
from webapp.web import apply_service_errors, is_htmx

FORM_ERROR = 422
BAD_LOGIN = "Incorrect username, email or password."
CSRF_EXPIRED = "The form expired, please try again."
DATABASE_DOWN = "The database is not answering right now. Please try again in a moment."


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Sessions and remember-me cookies carry ``"<id>:<security stamp>:<log-in time>"``
    (``User.get_id``): log-out and a password change rotate the stamp, which ends every copy
    of them on the server side, and a log-in older than ``REMEMBER_DAYS`` has expired
    whatever the cookie says.

    Every template loads the user (for the navigation), error pages included. When the
    database is down the request goes on as a visitor's, so pages that need no data (home,
    log-in, error pages) still render; pages that need a log-in answer 503 (``unauthorized``).
    """
    user_id, _, rest = session_id.partition(":")
    stamp, _, issued = rest.partition(":")
    if not (user_id.isdigit() and issued.isdigit()) or not 0 < int(user_id) <= MAX_ID:
        return None
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION"].total_seconds()
    if not 0 <= time.time() - int(issued) <= lifetime:
        return None
    try:
        user = users.signed_in_user(get_session(), int(user_id))
    except SQLAlchemyError:
        current_app.logger.warning("Could not load the session's user", exc_info=True)
        g.user_load_failed = True
        get_session().rollback()
        return None
    if user is None or not user.is_active or not secrets.compare_digest(user.security_stamp, stamp):
        return None
    return user


def _log_in(user: User, remember: bool = False) -> None:
    """Start a browser session: a new CSRF token (one seen before log-in is worth nothing
    after it), then flask-login's session and remember-me cookie."""
    flask_session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    login_user(user, remember=remember)


# --- where to go after logging in -------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None.

    Browsers read ``\\`` as ``/`` and drop tabs and newlines, so ``/\\evil.com`` or
    ``/\\t/evil.com`` would leave the site: anything but a plain absolute path is refused.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _next_from_request() -> str | None:
    return safe_next(request.form.get("next") or request.args.get("next"))


def _current_path() -> str:
    """The page to come back to: for htmx, the page in the address bar, not the fragment."""
    current = request.headers.get("HX-Current-URL")
    if current:
        parts = urlsplit(current)
        if parts.netloc == request.host:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if safe_next(path):
                return path
    return request.full_path.rstrip("?")


@login_manager.unauthorized_handler
def unauthorized():
    """Send visitors to the log-in page and back. An htmx request gets ``HX-Redirect``
    so the whole page moves to the log-in form instead of a form swapped into a card."""
    if g.get("user_load_failed"):
        # Not logged out: we could not tell. Sending them to log in would not help.
        raise ServiceUnavailable(DATABASE_DOWN)
    flash(login_manager.login_message, login_manager.login_message_category)
    login_url = url_for("auth.login", next=_current_path())
    if is_htmx():
        return Response(status=401, headers={"HX-Redirect": login_url})
    return redirect(login_url)


@bp.app_errorhandler(CSRFError)
def csrf_failed(_exc: CSRFError):
    """A missing or stale CSRF token is nearly always an old tab or an expired session."""
    if is_htmx() and not current_user.is_authenticated:
        return unauthorized()
    html = render_template(
        "errors/error.html", status=400, title="Form expired", message=CSRF_EXPIRED
    )
    return Response(html, status=400, mimetype="text/html")


def _home_if_logged_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return None


# --- sign-up, log-in, log-out ---------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
@signup_rate_limit
def signup():
    if (home := _home_if_logged_in()) is not None:
        return home
    form = SignupForm(next=safe_next(request.args.get("next")))
    if not form.is_submitted():
        return render_template("auth/signup.html", form=form)
    if not form.validate():
        # The account rules too, for the fields the form found nothing wrong with, so every
        # field shows its error at once rather than in two rounds.
        problems = users.field_problems(
            **{name: form[name].data for name in ("email", "username", "password")
               if form[name].data and not form[name].errors}
        )  # fmt: skip
        if problems:
            apply_service_errors(form, ValidationFailed("", details=problems))
        return render_template("auth/signup.html", form=form), FORM_ERROR
    try:
        user = users.create_user(
            session=get_session(),
            email=form.email.data,
            username=form.username.data,
            password=form.password.data,
        )
    except (ValidationFailed, Conflict) as exc:
        apply_service_errors(form, exc)
        return render_template("auth/signup.html", form=form), FORM_ERROR
    g.signed_up = True  # counted by signup_rate_limit
    _log_in(user)
    flash(f"Welcome to Playground, {user.username}!", "success")
    return redirect(_next_from_request() or url_for("main.index"))


@bp.get("/login")
def login():
    if (home := _home_if_logged_in()) is not None:
        return home
    form = LoginForm(next=safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/login")
@login_rate_limit
def login_post():
    if (home := _home_if_logged_in()) is not None:
        return home
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), FORM_ERROR
    user = users.authenticate(
        session=get_session(), login=form.login.data, password=form.password.data
    )
    if user is None:
        g.login_failed = True  # counted by login_rate_limit
        form.form_errors.append(BAD_LOGIN)
        return render_template("auth/login.html", form=form), FORM_ERROR
    _log_in(user, remember=form.remember.data)
    flash(f"Welcome back, {user.username}.", "success")
    return redirect(_next_from_request() or url_for("main.index"))


@bp.post("/logout")
def logout():
    """Log out on the server too: the stamp rotates, so this session cookie, a copy of it,
    and every other session, remember-me cookie and API access token of the account stop
    working ("log out everywhere"; personal API tokens stay)."""
    if current_user.is_authenticated:
        users.log_out_everywhere(session=get_session(), user=current_user._get_current_object())
    logout_user()
    flask_session.pop("csrf_token", None)
    flash("You have been logged out.", "info")
    return redirect(url_for("main.index"))


# --- the account page: three forms posting to their own endpoints ------------------------


def _account_page(status: int = 200, new_token: str | None = None, **forms):
    user = current_user
    forms.setdefault("profile_form", ProfileForm(prefix="profile", obj=user))
    forms.setdefault("password_form", PasswordForm(prefix="password"))
    forms.setdefault("delete_form", DeleteAccountForm(prefix="delete"))
    forms.setdefault("token_form", ApiTokenForm(prefix="token"))
    api_tokens = users.list_api_tokens(session=get_session(), user=user)
    return (
        render_template("auth/account.html", api_tokens=api_tokens, new_token=new_token, **forms),
        status,
    )


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.post("/account/profile")
@login_required
def account_profile():
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _account_page(FORM_ERROR, profile_form=form)
    try:
        users.update_user(
            session=get_session(),
            user=current_user,
            username=form.username.data,
            email=form.email.data,
            current_password=form.current_password.data,
            require_current_password=True,
        )
    except (ValidationFailed, Conflict) as exc:
        apply_service_errors(form, exc)
        return _account_page(FORM_ERROR, profile_form=form)
    flash("Your details have been saved.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/password")
@login_required
def account_password():
    form = PasswordForm(prefix="password")
    if not form.validate_on_submit():
        return _account_page(FORM_ERROR, password_form=form)
    try:
        user = users.update_user(
            session=get_session(),
            user=current_user,
            password=form.new_password.data,
            current_password=form.current_password.data,
            require_current_password=True,
        )
    except ValidationFailed as exc:
        apply_service_errors(form, exc, {"password": "new_password"})
        return _account_page(FORM_ERROR, password_form=form)
    # The security stamp changed: every other session and remember-me cookie is now
    # invalid. Log this browser in again with the new stamp (and renew its cookie).
    remembered = request.cookies.get(
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    )
    _log_in(user, remember=bool(remembered))
    flash("Your password has been changed. Other devices have been logged out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/delete")
@login_required
def account_delete():
    form = DeleteAccountForm(prefix="delete")
    if not form.validate_on_submit():
        return _account_page(FORM_ERROR, delete_form=form)
    session = get_session()
    user = current_user._get_current_object()
    confirmed = users.authenticate(
        session=session, login=user.username, password=form.password.data
    )
    if confirmed is None or confirmed.id != user.id:
        form.password.errors = [*form.password.errors, "The password is not correct."]
        return _account_page(FORM_ERROR, delete_form=form)
    users.delete_user(session=session, user=user)
    logout_user()
    flash("Your account and all its data have been deleted.", "info")
    return redirect(url_for("main.index"))


# --- personal API tokens ----------------------------------------------------------------


@bp.post("/account/tokens")
@login_required
def create_api_token():
    """The page itself shows the new token, once: it is never stored, nor put in a cookie
    (a flashed message would travel in the session cookie)."""
    form = ApiTokenForm(prefix="token")
    if not form.validate_on_submit():
        return _account_page(FORM_ERROR, token_form=form)
    try:
        _, token = users.create_api_token(
            session=get_session(), user=current_user, name=form.name.data, scope=form.scope.data
        )
    except ValidationFailed as exc:
        apply_service_errors(form, exc)
        return _account_page(FORM_ERROR, token_form=form)
    return _account_page(
        201, new_token=token, token_form=ApiTokenForm(prefix="token", formdata=None)
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    users.revoke_api_token(session=get_session(), user=current_user, token_id=token_id)
    flash("The token has been revoked.", "info")
    return redirect(url_for("auth.account"))
