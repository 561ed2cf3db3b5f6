"""Issue 11 #6: cookies and headers. A Content-Security-Policy with no inline script on
every answer (and no template that would need one), HSTS over HTTPS, nosniff, a referrer
policy, frame-ancestors, Secure cookies in production, and no caching of token answers."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_SECRET
from tests.utils.auth import DEFAULT_PASSWORD
from webapp import ROOT

LOGIN = "/api/v1/auth/login"


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";")}


@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/docs", "/api/v1/openapi.json", "/nope"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = directives(response)
    assert policy["script-src"] == "script-src 'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == "style-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_static_files_may_be_cached(client):
    response = client.get("/static/js/app.js")
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_hsts_behind_a_trusted_tls_proxy(make_app):
    app = make_app(TRUSTED_PROXIES=1)
    response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers


def test_token_answers_are_never_cached(client, api):
    api.tokens("alice")
    response = api.login("alice")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    refresh = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": response.get_json()["refresh_token"]}
    )
    assert refresh.headers["Cache-Control"] == "no-store"


def test_production_cookies_are_secure(make_app):
    app = make_app(APP_ENV="production", SECRET_KEY=TEST_SECRET + "-production")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    client = app.test_client()
    from tests.utils.auth import create_user

    create_user(app, "alice")
    response = client.post(
        "/auth/login",
        data={"login": "alice", "password": DEFAULT_PASSWORD, "remember": "y"},
        base_url="https://localhost",
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"session", "remember_token"}
    for value in cookies:
        assert "Secure" in value and "HttpOnly" in value, value


def test_development_cookies_work_over_plain_http(app):
    assert not app.config.get("SESSION_COOKIE_SECURE")


@pytest.mark.parametrize(
    ("app_env", "choice", "secure"),
    [("production", "off", False), ("development", "on", True), ("production", "auto", True)],
)
def test_secure_cookies_can_be_chosen(make_app, app_env, choice, secure):
    app = make_app(APP_ENV=app_env, SECRET_KEY=TEST_SECRET + "-production", SECURE_COOKIES=choice)
    assert bool(app.config.get("SESSION_COOKIE_SECURE")) is secure
    assert bool(app.config.get("REMEMBER_COOKIE_SECURE")) is secure


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.html"))
)
def test_no_template_has_inline_script_or_style_elements(template):
    """The policy would block them: a new template with one fails here, not in a browser."""
    text = (ROOT / template).read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "move the script to static/js/"
    assert not INLINE_HANDLER.search(text), "use addEventListener in static/js/"
    assert not STYLE_ELEMENT.search(text), "move the style to static/css/"
    assert "hx-on" not in text and "js:" not in text, "htmx may not evaluate code (CSP)"
