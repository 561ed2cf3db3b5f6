"""Boards in a real Chromium: create a board, add tasks, drag and drop, reload, filter,
keyboard moves, delete with undo, changes from elsewhere, and a conflict between two tabs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.layout import assert_no_sideways_scroll
from tests.utils.auth import DEFAULT_PASSWORD, create_user
from webapp.db import get_session
from webapp.models import Task, User
from webapp.services import tasks as task_service
from webapp.services.board_inputs import TaskCreate

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def alice(live_app):
    return create_user(live_app, "alice")


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")


def column(page: Page, status: str):
    return page.get_by_test_id(f"column-{status}")


def add_task(page: Page, title: str, status: str = "pending") -> None:
    field = column(page, status).get_by_placeholder("Add a task…")
    field.fill(title)
    field.press("Enter")
    expect(column(page, status).get_by_role("button", name=title, exact=True)).to_be_visible()


def make_task(live_app, **fields) -> int:
    with live_app.app_context():
        session = get_session()
        user = session.query(User).filter_by(username="alice").one()
        task_in = TaskCreate(**fields)
        return task_service.create_task(session=session, user=user, task_in=task_in).id


def test_board_drag_and_drop_survives_reload_and_filters(page: Page, live_server, live_app, alice):
    log_in(page, live_server)
    page.goto(f"{live_server}/boards")
    page.get_by_label("Name", exact=True).fill("Launch")
    page.get_by_role("button", name="Create board").click()
    page.get_by_role("link", name="Open it").click()
    expect(page.get_by_role("heading", name="Launch")).to_be_visible()
    expect(page.get_by_text("This board is empty")).to_be_visible()

    for title in ("Write spec", "Build it", "Ship it"):
        add_task(page, title)  # each lands at the bottom: Write spec, Build it, Ship it
    expect(column(page, "pending").get_by_test_id("task")).to_have_count(3)
    expect(page.get_by_test_id("count-pending")).to_have_text("3")

    page.locator(".task", has_text="Build it").drag_to(column(page, "completed"))
    expect(column(page, "completed").get_by_text("Build it")).to_be_visible()
    expect(page.get_by_test_id("count-completed")).to_have_text("1")
    expect(page.get_by_test_id("count-pending")).to_have_text("2")

    # Reorder within a column by dragging onto the top task.
    page.locator(".task", has_text="Ship it").drag_to(page.locator(".task", has_text="Write spec"))
    expect(column(page, "pending").locator(".task-title")).to_have_text(["Ship it", "Write spec"])

    page.reload()
    expect(column(page, "completed").get_by_text("Build it")).to_be_visible()
    expect(column(page, "pending").locator(".task-title")).to_have_text(["Ship it", "Write spec"])

    # Another browser (a fresh context) sees the same order.
    other = page.context.browser.new_context()
    try:
        other_page = other.new_page()
        log_in(other_page, live_server)
        other_page.goto(page.url)
        expect(column(other_page, "pending").locator(".task-title")).to_have_text(
            ["Ship it", "Write spec"]
        )
    finally:
        other.close()

    # Filter by priority, without a reload; the filter is kept in the address.
    page.locator(".task", has_text="Write spec").locator(".task-title").click()
    form = page.locator(".task-form")
    expect(form).to_be_visible()
    form.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".task", has_text="Write spec").get_by_text("Urgent")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    page.locator("#filter-priority").select_option("urgent")
    expect(page.get_by_test_id("task")).to_have_count(1)
    expect(page.get_by_test_id("task")).to_contain_text("Write spec")
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_test_id("task")).to_have_count(3)


def test_edit_from_two_tabs_shows_conflict(page: Page, live_server, live_app, alice):
    task_id = make_task(live_app, title="Shared task")
    open_board(page, live_server)
    second = page.context.new_page()
    second.set_default_timeout(10_000)
    second.goto(page.url)

    for tab in (page, second):
        tab.get_by_role("button", name="Shared task").click()
        expect(tab.locator(".task-form")).to_be_visible()

    second.locator(".task-form input[name=title]").fill("Renamed in tab two")
    page.locator(".task-form input[name=title]").fill("Renamed in tab one")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("button", name="Renamed in tab one")).to_be_visible()

    # The board refreshes every few seconds, but never under an open form: wait until a poll
    # has asked boardCanRefresh() (app.js asks it before every poll request) and been told
    # no, rather than sleeping past a tick a loaded machine may not have reached. The count
    # goes into the page, where an auto-waiting expect sees it (the page's CSP forbids the
    # eval that wait_for_function would need).
    assert second.evaluate("boardCanRefresh()") is False
    second.evaluate(
        """() => {
          const ask = window.boardCanRefresh;
          document.body.dataset.refreshesDeclined = "0";
          window.boardCanRefresh = () => {
            if (ask()) return true;
            document.body.dataset.refreshesDeclined++;
            return false;
          };
        }"""
    )
    expect(second.locator("body")).to_have_attribute(
        "data-refreshes-declined", re.compile(r"^[1-9]")
    )
    expect(second.locator(".task-form input[name=title]")).to_have_value("Renamed in tab two")
    second.get_by_role("button", name="Save").click()
    conflict = second.get_by_test_id("conflict")
    expect(conflict).to_contain_text("changed somewhere else")
    expect(conflict).to_contain_text("Renamed in tab two")
    expect(second.locator(".task-form input[name=title]")).to_have_value("Renamed in tab one")
    with live_app.app_context():
        assert get_session().get(Task, task_id).title == "Renamed in tab one"

    # Saving again from the refreshed form is a deliberate overwrite, and works.
    second.locator(".task-form input[name=title]").fill("Renamed in tab two")
    second.get_by_role("button", name="Save").click()
    expect(second.get_by_role("button", name="Renamed in tab two")).to_be_visible()


def test_keyboard_moves_keep_focus(page: Page, live_server, live_app, alice):
    make_task(live_app, title="First")
    make_task(live_app, title="Second")
    open_board(page, live_server)

    second = page.locator(".task", has_text="Second")
    second.get_by_role("button", name="Move up").focus()
    page.keyboard.press("Enter")
    expect(column(page, "pending").locator(".task-title")).to_have_text(["Second", "First"])
    expect(page.locator(".task", has_text="Second").locator(".task-title")).to_be_focused()

    move_right = page.locator(".task", has_text="First").get_by_role(
        "button", name="Move to In progress"
    )
    move_right.focus()
    page.keyboard.press("Enter")
    expect(column(page, "in_progress").get_by_text("First")).to_be_visible()
    focused = page.locator(".task", has_text="First").get_by_role(
        "button", name="Move to Completed"
    )
    expect(focused).to_be_focused()


def test_delete_with_undo_and_changes_from_elsewhere(page: Page, live_server, live_app, alice):
    make_task(live_app, title="Keep me")
    open_board(page, live_server)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".task", has_text="Keep me").get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("task")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("button", name="Keep me")).to_be_visible()
    expect(page.get_by_text("Restored “Keep me”.")).to_be_visible()

    assert page.evaluate("boardCanRefresh()") is True
    make_task(live_app, title="Added by the API", status="in_progress", priority="urgent")
    expect(column(page, "in_progress").get_by_text("Added by the API")).to_be_visible(
        timeout=15_000
    )


def test_phone_layout_has_no_page_overflow(page: Page, live_server, live_app, alice):
    make_task(live_app, title="A task with a rather long title that has to wrap on a phone")
    page.set_viewport_size(PHONE)
    open_board(page, live_server)
    expect(page.get_by_test_id("task")).to_have_count(1)
    assert_no_sideways_scroll(page)
    add_task(page, "Added on the phone")


# -- quick like Trello (issue 10, items 12 and 13): each on a desktop and a 390 px phone, in
# light and dark mode; a screenshot of each state goes to pytest-playwright's output folder.

VARIANTS = [
    pytest.param(({"width": 1280, "height": 860}, "light"), id="desktop-light"),
    pytest.param(({"width": 1280, "height": 860}, "dark"), id="desktop-dark"),
    pytest.param((PHONE, "light"), id="phone-light"),
    pytest.param((PHONE, "dark"), id="phone-dark"),
]


@pytest.fixture(params=VARIANTS)
def seen(request, new_context, output_path):
    """A page in one of the four variants, and ``seen.shot(name)`` to save a screenshot."""
    viewport, scheme = request.param
    context = new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.phone = viewport["width"] < 720
    page.shot = lambda name: page.screenshot(path=f"{output_path}/{name}.png", full_page=True)
    return page


def open_board(page: Page, base: str) -> None:
    """Log in and open the first board, its scripts run: a button htmx has not wired up
    yet does nothing when pressed (the board's buttons are htmx-only, not forms)."""
    log_in(page, base)
    page.goto(f"{base}/boards")
    page.get_by_role("link", name="Open").first.click()
    expect(page.get_by_role("heading", name="My board")).to_be_visible()
    page.wait_for_load_state()


def settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has settled its last swap."""
    expect(
        page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    ).to_have_count(0)


def card(page: Page, title: str):
    return page.get_by_test_id("task").filter(
        has=page.get_by_role("button", name=title, exact=True)
    )


def test_first_visit_explains_the_board(seen: Page, live_server, live_app, alice):
    open_board(seen, live_server)
    intro = seen.get_by_role("region", name="How this board works")
    expect(intro).to_be_visible()
    expect(intro).to_contain_text("Quick edit")
    seen.shot("intro")
    intro.get_by_role("button", name="Got it").click()
    expect(intro).to_have_count(0)
    seen.reload()
    expect(seen.get_by_role("heading", name="My board")).to_be_visible()
    expect(seen.get_by_role("region", name="How this board works")).to_have_count(0)


def test_typed_tasks_keep_their_order(seen: Page, live_server, live_app, alice):
    open_board(seen, live_server)
    field = column(seen, "pending").get_by_role("textbox", name="New task in Pending")
    field.click()
    for count, title in enumerate(("Plan", "Build", "Test", "Ship"), start=1):
        seen.keyboard.type(title)  # typed into whatever has the focus: the field kept it
        seen.keyboard.press("Enter")
        expect(column(seen, "pending").get_by_test_id("task")).to_have_count(count)
        expect(field).to_be_focused()
        settled(seen)  # the new form is wired up 20 ms after the swap; a person is slower
    titles = column(seen, "pending").locator(".task-title")
    expect(titles).to_have_text(["Plan", "Build", "Test", "Ship"])
    seen.shot("typed-in-order")


def test_quick_controls_and_one_click_done(seen: Page, live_server, live_app, alice):
    make_task(live_app, title="Pay the rent")
    open_board(seen, live_server)
    task = card(seen, "Pay the rent")
    task.get_by_role("button", name="Quick edit").click()
    expect(task.get_by_label("Priority")).to_be_visible()
    settled(seen)  # htmx wires up swapped-in controls as it settles
    task.get_by_label("Priority").select_option("urgent")
    expect(task.locator(".prio-badge")).to_have_text("Urgent")
    settled(seen)
    task.get_by_label("Due date").fill("2030-01-31")
    task.get_by_label("Due date").press("Tab")  # a change is saved when the field is left
    expect(task.get_by_text("Due 31 Jan 2030")).to_be_visible()
    settled(seen)
    task.get_by_label("Labels").fill("home, money")
    task.get_by_label("Labels").press("Tab")
    expect(task.get_by_role("button", name="money")).to_be_visible()
    seen.shot("quick-controls")
    settled(seen)
    task.get_by_role("button", name="Close quick edit").click()
    expect(task.get_by_label("Priority")).to_have_count(0)

    task.get_by_role("button", name="Done").click()
    done = column(seen, "completed").get_by_test_id("task")
    expect(done).to_have_count(1)
    expect(done.get_by_role("button", name="Done")).to_have_count(0)
    expect(page_count(seen, "completed")).to_have_text("1")
    with live_app.app_context():
        saved = get_session().query(Task).filter_by(title="Pay the rent").one()
        assert (saved.status, saved.priority, saved.labels) == (
            "completed",
            "urgent",
            ["home", "money"],
        )
    seen.shot("done")


def page_count(page: Page, status: str):
    return page.get_by_test_id(f"count-{status}")


def test_keyboard_shortcuts_are_listed_and_work(seen: Page, live_server, live_app, alice):
    make_task(live_app, title="Write tests")
    open_board(seen, live_server)
    help_list = seen.get_by_role("heading", name="Keyboard shortcuts")
    expect(help_list).to_be_hidden()
    seen.keyboard.press("?")
    expect(help_list).to_be_visible()
    seen.shot("shortcuts")
    seen.keyboard.press("?")
    expect(help_list).to_be_hidden()

    seen.keyboard.press("n")
    expect(seen.get_by_role("textbox", name="New task in Pending")).to_be_focused()
    seen.keyboard.type("Fix the bug")
    seen.keyboard.press("Enter")
    expect(column(seen, "pending").get_by_test_id("task")).to_have_count(2)
    settled(seen)
    seen.keyboard.press("Escape")  # nothing is being edited: leaves the field as it is
    seen.get_by_role("heading", name="My board").click()  # focus out of the field
    seen.keyboard.press("j")
    expect(card(seen, "Write tests").locator(".task-title")).to_be_focused()
    seen.keyboard.press("Shift+ArrowRight")
    moved = card(seen, "Write tests")
    expect(moved.get_by_role("button", name="Move to Completed")).to_be_focused()
    seen.keyboard.press("d")
    expect(column(seen, "completed").get_by_role("button", name="Write tests")).to_be_visible()


def test_phone_columns_say_they_scroll_sideways(seen: Page, live_server, live_app, alice):
    make_task(live_app, title="Finished", status="completed")
    open_board(seen, live_server)
    hint = seen.get_by_text("Swipe sideways to see all three columns")
    tabs = seen.get_by_role("navigation", name="Columns")
    if not seen.phone:
        expect(hint).to_be_hidden()
        expect(tabs).to_be_hidden()
        return
    expect(hint).to_be_visible()
    expect(column(seen, "completed")).not_to_be_in_viewport(ratio=0.5)
    seen.shot("phone-columns")
    tabs.get_by_role("link", name="Completed").click()
    expect(column(seen, "completed")).to_be_in_viewport(ratio=0.5)
    expect(column(seen, "completed").get_by_role("button", name="Finished")).to_be_visible()
    seen.shot("phone-completed")
    width = seen.evaluate("document.documentElement.clientWidth")
    assert seen.evaluate("document.documentElement.scrollWidth") <= width
