"""Accounts in a real Chromium: sign up, log out, log in, change the password; the phone
layout; htmx's CSRF header and session-expiry redirect."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.layout import assert_no_sideways_scroll

PASSWORD = "first-password-123"
NEW_PASSWORD = "second-password-456"
PHONE = {"width": 390, "height": 844}


def sign_up(page: Page, base: str, username: str = "alice", password: str = PASSWORD) -> None:
    page.goto(f"{base}/auth/signup")
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Sign up").click()


def log_in(page: Page, base: str, login: str, password: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_log_out_log_in_and_change_password(page: Page, live_server: str):
    sign_up(page, live_server)
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")
    expect(page.get_by_text("Welcome to Playground, alice!")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_test_id("nav-username")).to_have_count(0)
    expect(page.get_by_text("You have been logged out.")).to_be_visible()

    log_in(page, live_server, "alice", "not-my-password")
    expect(page.get_by_role("alert")).to_contain_text("Incorrect username, email or password.")
    expect(page.get_by_test_id("nav-username")).to_have_count(0)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")

    page.get_by_test_id("nav-username").click()
    expect(page).to_have_url(f"{live_server}/auth/account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")

    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "alice@example.com", NEW_PASSWORD)
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")


def test_private_page_sends_to_login_and_back(page: Page, live_server: str):
    sign_up(page, live_server)
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server}/auth/account")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=/auth/account$"))
    expect(page.get_by_text("Please log in to see that page.")).to_be_visible()
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server}/auth/account")


def test_htmx_sends_the_csrf_token(page: Page, live_server: str):
    sign_up(page, live_server)
    # htmx is a deferred script: it has run once the page reached its load event.
    page.wait_for_load_state()
    with page.expect_response(re.compile(r"/auth/logout$")) as response:
        page.evaluate("htmx.ajax('POST', '/auth/logout', {source: '#main', swap: 'none'})")
    assert response.value.status in (200, 302)
    page.reload()
    expect(page.get_by_test_id("nav-username")).to_have_count(0)


def test_htmx_request_after_logout_moves_to_the_login_page(page: Page, live_server: str):
    page.goto(f"{live_server}/")
    # htmx is a deferred script: it has run once the page reached its load event.
    page.wait_for_load_state()
    page.evaluate("htmx.ajax('GET', '/auth/account', {target: '#main'})")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


@pytest.mark.parametrize("logged_in", [False, True], ids=["visitor", "user"])
def test_phone_layout_menu_works_and_nothing_overflows(page: Page, live_server: str, logged_in):
    page.set_viewport_size(PHONE)
    if logged_in:
        sign_up(page, live_server, username="a_rather_long_username_32_chars")
        pages = ["/", "/auth/account", "/no-such-page"]
    else:
        pages = ["/", "/auth/login", "/auth/signup", "/no-such-page"]
    for path in pages:
        page.goto(f"{live_server}{path}")
        assert_no_sideways_scroll(page, path)

    page.goto(f"{live_server}/")
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    menu = page.locator("#nav-menu")
    expect(menu).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    assert_no_sideways_scroll(page)

    if logged_in:
        expect(page.get_by_test_id("nav-username")).to_be_visible()
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_text("You have been logged out.")).to_be_visible()
    else:
        menu.get_by_role("link", name="Log in").click()
        expect(page).to_have_url(f"{live_server}/auth/login")
        expect(page.get_by_label("Username or email")).to_be_visible()
        assert_no_sideways_scroll(page)


def test_keyboard_user_can_skip_to_content(page: Page, live_server: str):
    page.goto(f"{live_server}/auth/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
