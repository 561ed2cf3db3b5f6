"""Batch predictions in a real Chromium (issue 10, item 8): the template download, a batch
that downloads its answer and then shows on the page what the file holds, and the form's
hints for years; at desktop and phone width, light and dark. Set E2E_SHOTS=<dir> to keep
screenshots."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.utils.auth import DEFAULT_PASSWORD, create_user

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "tests" / "fixtures" / "csv" / "penguins.csv"
# {option text: whether it fits the select's content box, arrow excluded}
FITS = """(select) => {
  const style = getComputedStyle(select);
  const probe = document.createElement("span");
  probe.style.font = style.font;
  probe.style.whiteSpace = "pre";
  probe.style.position = "absolute";
  document.body.append(probe);
  const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  const room = select.clientWidth - padding - 24;
  const out = {};
  for (const option of select.options) {
    probe.textContent = option.text;
    out[option.text] = probe.getBoundingClientRect().width <= room;
  }
  probe.remove();
  return out;
}"""
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(autouse=True)
def _stop_jobs(live_app):
    yield
    from tests.ml_helpers import shutdown_jobs

    shutdown_jobs(live_app)


@pytest.fixture
def model_page(page: Page, live_app, live_server) -> str:
    """A decision tree on the penguins, trained through the pages; its page's URL."""
    create_user(live_app, "alice")
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")
    page.goto(f"{live_server}/datasets/")
    page.get_by_label("CSV file", exact=True).set_input_files(PENGUINS)
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+$"))
    page.get_by_role("link", name="Train a model").click()
    # The algorithm choice is an htmx form: a radio checked before htmx has wired it
    # (a loaded machine) changes nothing on the page.
    page.wait_for_load_state()
    page.get_by_label("Decision tree").check()
    page.get_by_label("Target column").select_option("species")
    page.get_by_test_id("start-run").click()
    expect(page.locator("#run-live")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    page.get_by_test_id("model-link").click()
    expect(page.get_by_role("heading", name="Predict a CSV file")).to_be_visible()
    return page.url


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("E2E_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_template_then_a_batch_with_its_summary(
    page: Page, model_page: str, tmp_path: Path, size: str, scheme: str
):
    page.set_viewport_size(SIZES[size])
    page.emulate_media(color_scheme=scheme)
    page.goto(model_page)
    expect(page.get_by_text("2007 to 2009 in training")).to_be_visible()

    with page.expect_download() as template_download:
        page.get_by_role("link", name="download a template").click()
    template = Path(template_download.value.path()).read_text()
    header = template.splitlines()[0].split(",")
    assert "island" in header and "species" not in header and len(template.splitlines()) == 2

    # A batch in the template's columns: two of the rows have something to say.
    reader = csv.DictReader(io.StringIO(PENGUINS.read_text()))
    rows = [{name: row[name] for name in header} for row in list(reader)[:30]]
    rows[4]["island"] = "Anvers"  # never seen in training: a warning
    rows[6]["bill_length_mm"] = "long"  # not a number: an error
    batch = tmp_path / "field_notes.csv"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    batch.write_text(out.getvalue())

    page.get_by_label("CSV file", exact=True).set_input_files(batch)
    with page.expect_download() as answer_download:
        page.get_by_role("button", name="Predict and download").click()
    answer = answer_download.value
    assert answer.suggested_filename == "field_notes-predictions.csv"
    assert len(Path(answer.path()).read_text().splitlines()) == 31

    summary = page.get_by_test_id("batch-summary").get_by_role("status")
    expect(summary).to_contain_text("field_notes-predictions.csv is downloaded: 30 rows")
    expect(summary).to_contain_text("29 predicted")
    expect(summary).to_contain_text("1 with an error")
    expect(summary).to_contain_text("1 with a warning")
    counts = page.get_by_role("list", name="Rows per class").get_by_role("listitem")
    expect(counts).to_have_count(3)
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Every choice of "Answer as" reads in full inside the select (the longer labels were
    # cut off at phone width): each option's text, in the select's font, fits its box.
    fits = page.get_by_label("Answer as").evaluate(FITS)
    assert all(fits.values()), fits
    summary.scroll_into_view_if_needed()
    shot(page, f"batch-summary-{size}-{scheme}")
