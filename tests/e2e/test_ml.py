"""Training in a real Chromium: KMeans on the sample data with a live progress bar and a
real scatter plot, a random forest on the classification sample, a prediction from the
form and a batch CSV download; the phone layout. Set ML_SHOTS=<dir> to keep screenshots."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.images import expect_loaded
from tests.e2e.layout import assert_no_sideways_scroll
from tests.utils.auth import DEFAULT_PASSWORD, create_user

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture(autouse=True)
def _stop_jobs(live_app):
    yield
    from tests.ml_helpers import shutdown_jobs

    shutdown_jobs(live_app)


@pytest.fixture
def logged_in(page: Page, live_app, live_server) -> str:
    create_user(live_app, "alice")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")
    return live_server


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("ML_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def upload(page: Page, base: str, path: Path) -> None:
    page.goto(f"{base}/datasets/")
    page.get_by_label("CSV file", exact=True).set_input_files(path)
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+$"))


def wait_for_success(page: Page) -> None:
    live = page.locator("#run-live")
    expect(live).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.get_by_test_id("progress")).to_have_attribute("aria-valuenow", "100")


def expect_real_image(page: Page, selector: str) -> None:
    image = page.locator(selector)
    image.scroll_into_view_if_needed()
    expect_loaded(image)
    assert image.evaluate("(el) => el.naturalWidth") > 300


def test_kmeans_with_live_progress_and_scatter(page: Page, logged_in: str):
    upload(page, logged_in, DATA / "sample_data.csv")
    page.get_by_role("link", name="Train a model").click()
    expect(page.get_by_test_id("run-form")).to_be_visible()
    expect(page.get_by_label("Number of clusters k")).to_have_value("3")
    shot(page, "run-form-kmeans")
    page.get_by_test_id("start-run").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect(page.get_by_test_id("progress")).to_be_visible()
    wait_for_success(page)
    expect(page.get_by_test_id("metrics")).to_contain_text("Silhouette score")
    expect_real_image(page, 'img[data-plot="clusters"]')
    expect_real_image(page, 'img[data-plot="elbow"]')
    expect(page.get_by_test_id("centroids").locator("tbody tr")).to_have_count(3)
    with page.expect_download() as download_info:
        page.get_by_test_id("clusters-csv").click()
    text = Path(download_info.value.path()).read_text()
    assert text.splitlines()[0].endswith(",cluster")
    shot(page, "run-kmeans-desktop")
    page.set_viewport_size(PHONE)
    page.reload()
    expect_real_image(page, 'img[data-plot="clusters"]')
    assert_no_sideways_scroll(page)
    shot(page, "run-kmeans-phone")


def test_forest_predict_one_row_and_batch(page: Page, logged_in: str, tmp_path: Path):
    upload(page, logged_in, DATA / "sample_classification.csv")
    page.get_by_role("link", name="Train a model").click()
    # The algorithm choice is an htmx form: a radio checked before htmx has wired it
    # (a loaded machine) changes nothing on the page.
    page.wait_for_load_state()
    page.get_by_label("Random forest").check()
    expect(page.get_by_label("Number of trees")).to_be_visible()
    page.get_by_label("Target column").select_option("plan")
    page.get_by_label("Number of trees").fill("25")
    shot(page, "run-form-forest")
    page.get_by_test_id("start-run").click()
    wait_for_success(page)
    expect(page.get_by_test_id("metrics")).to_contain_text("Out-of-bag score")
    expect_real_image(page, 'img[data-plot="confusion_matrix"]')
    shot(page, "run-forest-desktop")
    page.get_by_test_id("model-link").click()
    expect(page.get_by_test_id("predict-form")).to_be_visible()
    page.get_by_label("region").select_option("north")
    page.get_by_test_id("predict-button").click()
    expect(page.get_by_test_id("prediction")).to_contain_text(re.compile("basic|standard|premium"))
    shot(page, "model-desktop")

    with (DATA / "sample_classification.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:5]
    batch = tmp_path / "batch.csv"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[k for k in rows[0] if k != "plan"])
    writer.writeheader()
    writer.writerows({k: v for k, v in row.items() if k != "plan"} for row in rows)
    batch.write_text(out.getvalue())
    page.get_by_label("CSV file", exact=True).set_input_files(batch)
    with page.expect_download() as download_info:
        page.get_by_test_id("batch-button").click()
    download = download_info.value
    assert download.suggested_filename == "batch-predictions.csv"
    result = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(result) == 5
    assert all(r["prediction"] in ("basic", "standard", "premium") for r in result)
    page.set_viewport_size(PHONE)
    page.reload()
    shot(page, "model-phone")
    page.goto(f"{logged_in}/models")
    expect(page.get_by_test_id("versions")).to_contain_text("v1")
    assert_no_sideways_scroll(page)
    shot(page, "models-phone")
    page.set_viewport_size(DESKTOP)
    page.reload()
    shot(page, "models-desktop")


def test_demo_script_against_a_live_server(live_server):
    """demo.py drives the whole API (standard library only) and says what happened."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "demo.py"), "--base-url", live_server],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    expected = ["== Register", "== Log in", "created task", "Train KMeans", "succeeded",
                "the silhouette suggested k", "row 1:", "prediction", "is completed"]  # fmt: skip
    for words in expected:
        assert words in out, out
