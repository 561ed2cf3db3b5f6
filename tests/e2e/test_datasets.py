"""Data sets in a real Chromium: upload a CSV through the form, see the preview and the
profile, re-parse with another option, load a sample, delete; the phone layout."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.layout import assert_no_sideways_scroll
from tests.utils.auth import DEFAULT_PASSWORD, create_user

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample_data.csv"
FIXTURES = ROOT / "tests" / "fixtures" / "csv"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def logged_in(page: Page, live_app, live_server) -> str:
    create_user(live_app, "alice")
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")
    return live_server


def upload(page: Page, base: str, path: Path) -> None:
    page.goto(f"{base}/datasets/")
    page.get_by_label("CSV file", exact=True).set_input_files(path)
    expect(page.locator("[data-file-name]")).to_contain_text(path.name)
    page.get_by_role("button", name="Upload").click()


def test_upload_sample_data_and_see_preview_and_profile(page: Page, logged_in: str):
    upload(page, logged_in, SAMPLE)
    expect(page).to_have_url(re.compile(r"/datasets/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("sample_data")
    preview = page.get_by_test_id("preview-table")
    expect(preview.locator("thead th")).to_contain_text(
        ["#", "age", "annual_income_k", "spending_score"]
    )
    expect(preview.locator("tbody tr")).to_have_count(20)
    cards = page.get_by_test_id("column-card")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text("numeric")
    expect(cards.first.locator("svg.histogram rect").first).to_be_attached()
    page.goto(f"{logged_in}/datasets/")
    expect(page.get_by_test_id("datasets-table")).to_contain_text("sample_data")


def test_reparse_with_another_delimiter_and_back(page: Page, logged_in: str):
    upload(page, logged_in, FIXTURES / "pipe.csv")
    page.get_by_label("Delimiter").select_option(label="semicolon")
    page.get_by_role("button", name="Parse again").click()
    # One column from lines that split on pipes is refused, and the data set stays as it was.
    expect(page.get_by_role("alert")).to_contain_text("split into 3 values on pipe")
    expect(page.get_by_test_id("column-card")).to_have_count(3)
    page.get_by_label("Delimiter").select_option("auto")
    page.get_by_role("button", name="Parse again").click()
    expect(page.get_by_test_id("column-card")).to_have_count(3)


def test_a_bad_file_shows_a_form_error(page: Page, logged_in: str):
    upload(page, logged_in, FIXTURES / "image_renamed.csv")
    expect(page.locator(".field-errors")).to_contain_text("PNG image")


def test_a_file_over_the_limit_is_refused_before_upload(page: Page, logged_in: str, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * (13 * 1024 * 1024 + 1))  # just over 52 MB
    page.goto(f"{logged_in}/datasets/")
    page.get_by_label("CSV file", exact=True).set_input_files(big)
    expect(page.locator(".field-errors")).to_contain_text("larger than the 50 MB limit")
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(f"{logged_in}/datasets/")
    expect(page.get_by_test_id("datasets-empty")).to_be_visible()


def test_load_a_sample_then_delete_it_on_a_phone(page: Page, logged_in: str):
    page.set_viewport_size(PHONE)
    page.goto(f"{logged_in}/datasets/")
    page.get_by_role("button", name="Load sample data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("sample_data")
    # The preview scrolls inside its box; the page itself does not scroll sideways.
    assert_no_sideways_scroll(page)
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete data set").click()
    expect(page.get_by_test_id("datasets-empty")).to_be_visible()


# -- numbers and column cards (issue 10, item 4) -------------------------------------------------

DESKTOP = {"width": 1280, "height": 860}
# Every element of a column card, measured against the card's padding box.
_OUTSIDE_THEIR_CARD = """() => [...document.querySelectorAll('[data-testid=column-card]')]
  .flatMap(card => {
    const box = card.getBoundingClientRect(), style = getComputedStyle(card);
    const left = box.left + parseFloat(style.paddingLeft) - 0.5;
    const right = box.right - parseFloat(style.paddingRight) + 0.5;
    const name = card.querySelector('h3').textContent;
    return [...card.querySelectorAll('*')]
      .filter(e => {
        const r = e.getBoundingClientRect();
        return r.width && (r.left < left || r.right > right);
      })
      .map(e => name + ': ' + e.tagName + '.' + (e.className.baseVal ?? e.className));
  })"""


def shot(page: Page, name: str) -> None:
    """Keep a screenshot when E2E_SHOTS names a folder (to look at the layout)."""
    folder = os.environ.get("E2E_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_column_cards_hold_their_content_and_years_read_as_years(
    page: Page, logged_in: str, viewport: dict, scheme: str
):
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=scheme)
    upload(page, logged_in, FIXTURES / "penguins.csv")
    expect(page.get_by_role("heading", level=1)).to_have_text("penguins")
    cards = page.get_by_test_id("column-card")
    expect(cards).to_have_count(9)
    year = cards.filter(has=page.get_by_role("heading", name="year"))
    expect(year.locator("dd").nth(2)).to_have_text("2007")  # min, not "2,007"
    expect(year.locator("dd").nth(3)).to_have_text("2008.0")  # the mean
    flipper = cards.filter(has=page.get_by_role("heading", name="flipper_length_mm"))
    expect(flipper.get_by_text("numeric", exact=True)).to_be_visible()
    preview = page.get_by_test_id("preview-table")
    expect(preview.locator("tbody tr").first.locator("td.num").first).to_have_text("1001")
    assert page.evaluate(_OUTSIDE_THEIR_CARD) == []
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"penguins-{'desktop' if viewport is DESKTOP else 'phone'}-{scheme}")
