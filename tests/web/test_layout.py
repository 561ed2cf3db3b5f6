"""The shared layout: navigation, flash messages, accessibility basics, vendored assets."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest


class PageParser(HTMLParser):
    """Collects the tags we check: inputs, labels, script/link/img URLs, ids."""

    def __init__(self):
        super().__init__()
        self.inputs, self.label_for, self.ids, self.urls = [], set(), set(), []
        self.body = {}
        self.scripts = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.inputs.append(attrs)
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag == "body":
            self.body = attrs
        if tag == "script":
            self.scripts.append(attrs)
        for name in ("src", "href", "action"):
            if attrs.get(name):
                self.urls.append(attrs[name])


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def nav_html(html: str) -> str:
    return re.search(r'<nav class="nav container".*?</nav>', html, re.S).group(0)


# --- navigation ---------------------------------------------------------------------------


def test_visitor_nav_offers_login_and_signup(client):
    nav = nav_html(client.get("/").get_data(as_text=True))
    assert 'href="/auth/login"' in nav and 'href="/auth/signup"' in nav
    assert "nav-username" not in nav
    assert "Log out" not in nav


def test_user_nav_shows_the_username_and_logout(client, auth):
    auth.signup_and_login("alice")
    nav = nav_html(client.get("/").get_data(as_text=True))
    assert 'data-testid="nav-username">alice<' in nav
    assert 'action="/auth/logout"' in nav
    assert 'href="/auth/login"' not in nav


SECTIONS = [
    ("Boards", "/boards"),
    ("Data sets", "/datasets/"),
    ("Runs", "/runs"),
    ("Models", "/models"),
    ("API docs", "/api/docs"),
]


def test_nav_links_every_section_to_its_page(client, auth):
    visitor_nav = nav_html(client.get("/").get_data(as_text=True))
    assert '<a href="/api/docs">API docs</a>' in visitor_nav
    assert "Boards" not in visitor_nav  # needs a log-in
    auth.signup_and_login()
    nav = nav_html(client.get("/").get_data(as_text=True))
    for label, href in SECTIONS:
        assert f'<a href="{href}">{label}</a>' in nav
        assert client.get(href).status_code == 200, href


def test_nav_marks_the_current_section(client, auth):
    auth.signup_and_login()
    nav = nav_html(client.get("/datasets/").get_data(as_text=True))
    assert '<a href="/datasets/" aria-current="page">Data sets</a>' in nav
    assert '<a href="/boards">Boards</a>' in nav


def test_dashboard_links_to_the_sections(client, auth):
    auth.signup_and_login()
    html = client.get("/").get_data(as_text=True)
    main = html.split('id="main"', 1)[1]
    assert "Welcome, alice" in main
    for _label, href in SECTIONS:
        assert f'href="{href}"' in main
    assert 'href="/auth/account"' in main


def test_home_page_pitches_to_visitors(client):
    html = client.get("/").get_data(as_text=True)
    main = html.split('id="main"', 1)[1]
    assert 'href="/auth/signup"' in main and 'href="/auth/login"' in main
    assert "Welcome," not in main


def test_flash_messages_show_once(client, auth):
    auth.signup_and_login()
    auth.logout()
    assert "You have been logged out." in client.get("/").get_data(as_text=True)
    assert "You have been logged out." not in client.get("/").get_data(as_text=True)


# --- accessibility basics -----------------------------------------------------------------


def test_skip_link_points_at_main(client):
    page = parse(client.get("/").get_data(as_text=True))
    assert "#main" in page.urls and "main" in page.ids


@pytest.mark.parametrize("url", ["/auth/login", "/auth/signup", "/auth/account"])
def test_every_input_has_a_label(client, auth, url):
    if url == "/auth/account":
        auth.signup_and_login()
    page = parse(client.get(url).get_data(as_text=True))
    assert page.inputs
    for attrs in page.inputs:
        assert attrs.get("id") in page.label_for, attrs


def test_field_errors_are_linked_to_their_inputs(client):
    html = client.post(
        "/auth/signup",
        data={"email": "x", "username": "ok_name", "password": "short", "confirm": "short"},
    ).get_data(as_text=True)
    page = parse(html)
    invalid = [attrs for attrs in page.inputs if attrs.get("aria-invalid") == "true"]
    assert {attrs["id"] for attrs in invalid} == {"email", "password"}
    for attrs in invalid:
        described = attrs["aria-describedby"].split()
        assert f"{attrs['id']}-error" in described
        assert all(ref in page.ids for ref in described)


def test_hints_are_linked_even_without_errors(client):
    page = parse(client.get("/auth/signup").get_data(as_text=True))
    username = next(attrs for attrs in page.inputs if attrs["id"] == "username")
    assert username["aria-describedby"] == "username-hint"
    assert "aria-invalid" not in username


# --- htmx, CSRF header and assets ---------------------------------------------------------


def test_body_sends_the_csrf_token_with_htmx(client):
    page = parse(client.get("/").get_data(as_text=True))
    headers = json.loads(page.body["hx-headers"])
    assert headers["X-CSRFToken"]


def test_scripts_are_local_and_deferred(client):
    page = parse(client.get("/").get_data(as_text=True))
    sources = {attrs["src"]: attrs for attrs in page.scripts if "src" in attrs}
    assert "/static/vendor/htmx.min.js" in sources
    assert "/static/js/app.js" in sources
    # js-class.js alone runs before first paint (it only marks <html> as "js").
    early = sources.pop("/static/js/js-class.js")
    assert "defer" not in early
    assert all("defer" in attrs for attrs in sources.values())


@pytest.mark.parametrize("url", ["/", "/auth/login", "/auth/signup", "/nope"])
def test_no_page_loads_anything_from_another_site(client, url):
    page = parse(client.get(url).get_data(as_text=True))
    for link in page.urls:
        assert not re.match(r"^(https?:)?//", link), link


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/static/vendor/htmx.min.js", "text/javascript"),
        ("/static/js/app.js", "text/javascript"),
        ("/static/css/app.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
def test_static_assets_are_served(client, path, mimetype):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    response.close()


def test_vendored_htmx_is_version_2(client):
    response = client.get("/static/vendor/htmx.min.js")
    body = response.get_data(as_text=True)
    response.close()
    version = re.search(r'version:"(\d+)\.(\d+)\.(\d+)"', body)
    assert version and version.group(1) == "2"
    readme = client.application.static_folder + "/vendor/README.md"
    with open(readme, encoding="utf-8") as handle:
        assert ".".join(version.groups()) in handle.read()
