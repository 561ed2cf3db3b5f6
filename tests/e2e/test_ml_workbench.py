"""The training workbench in a real Chromium, on a desktop and a 390 px phone, in light and
dark mode: plots readable (text >= 12 px as displayed, the variant for the screen), results in
words, the tree folding open, runs compared, progress and Cancel, the form's defaults, a
delete that asks first, the favicon and the way back from the API docs.

Runs are trained directly through the services (quick, and no waiting on a job queue);
everything else goes through the pages. ML_SHOTS=<dir> keeps screenshots."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.api_docs import open_api_docs
from tests.e2e.images import expect_loaded
from tests.utils.auth import DEFAULT_PASSWORD, create_user

DATA = Path(__file__).resolve().parents[2] / "data"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
SCREENS = [("desktop", DESKTOP, "light"), ("phone", PHONE, "light"),
           ("desktop", DESKTOP, "dark"), ("phone", PHONE, "dark")]  # fmt: skip
# 11 pt drawn = 14.67 CSS px: the smallest text in a plot at scale 1.
PLOT_TEXT_PX = 11 * 4 / 3


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("ML_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def train(app, filename: str, **settings) -> tuple[int, int]:
    """A finished run (trained here, synchronously); returns (data set id, run id)."""
    from sqlalchemy import select

    from webapp.db import get_session
    from webapp.models import Dataset, User
    from webapp.services import datasets, run_settings, runs, training

    with app.app_context():
        session = get_session()
        user = session.scalars(select(User).where(User.username == "alice")).one()
        dataset = session.scalars(
            select(Dataset).where(Dataset.owner_id == user.id, Dataset.filename == filename)
        ).first() or datasets.create_dataset(
            session=session, user=user, filename=filename, content=(DATA / filename).read_bytes()
        )
        settings = run_settings.parse_settings({"dataset_id": dataset.id, **settings})
        run = runs.create_run(session=session, user=user, settings=settings,
                              submit=lambda run: None)  # fmt: skip
        training.execute_run(session=session, run_id=run.id, worker="e2e")
        return dataset.id, run.id


@pytest.fixture
def alice(page: Page, live_app, live_server) -> str:
    create_user(live_app, "alice")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-username")).to_have_text("alice")
    return live_server


def on_screen(page: Page, viewport: dict, scheme: str) -> None:
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=scheme)


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    client = page.evaluate("document.documentElement.clientWidth")
    assert width <= client + 1, f"the page scrolls sideways ({width} > {client})"


def test_plots_are_readable_on_every_screen_and_theme(page: Page, alice, live_app):
    _, run_id = train(live_app, "sample_data.csv", algorithm="kmeans", params={"k": 3})
    for size, viewport, scheme in SCREENS:
        on_screen(page, viewport, scheme)
        page.goto(f"{alice}/runs/{run_id}")
        images = page.locator("img[data-plot]")
        expect(images).to_have_count(4)
        for i in range(4):
            image = images.nth(i)
            image.scroll_into_view_if_needed()
            expect_loaded(image)
            source = image.evaluate("(el) => el.currentSrc")
            assert ".svg" in source, source
            assert ("theme=dark" in source) == (scheme == "dark"), source
            assert ("size=narrow" in source) == (size == "phone"), source
            scale = image.evaluate("(el) => el.getBoundingClientRect().width / el.naturalWidth")
            assert scale * PLOT_TEXT_PX >= 12, f"text at {scale * PLOT_TEXT_PX:.1f}px: {source}"
        if size == "phone":
            assert_no_sideways_scroll(page)
        shot(page, f"run-kmeans-{size}-{scheme}")


def test_results_in_words_and_a_tree_that_folds_open(page: Page, alice, live_app):
    _, run_id = train(live_app, "sample_classification.csv", algorithm="decision_tree",
                      target="plan", params={"max_depth": 4})  # fmt: skip
    for size, viewport, scheme in SCREENS:
        on_screen(page, viewport, scheme)
        page.goto(f"{alice}/runs/{run_id}")
        metrics = page.get_by_test_id("metrics")
        expect(metrics).to_contain_text("F1 score (average of classes)")
        expect(metrics).not_to_contain_text("f1_macro")
        expect(page.get_by_test_id("baseline")).to_contain_text("the most common class")
        tree = page.get_by_role("region", name="The decision tree")
        expect(tree).to_be_visible()
        opened = tree.locator("details.tree-node[open]")
        before = opened.count()
        tree.locator("details.tree-node:not([open]) > summary").first.click()
        expect(opened).to_have_count(before + 1)
        expect(tree).not_to_contain_text("<= 0.5")
        importances = page.get_by_role("region", name="Which columns matter")
        expect(importances).not_to_contain_text("=")
        if size == "phone":
            assert_no_sideways_scroll(page)
        shot(page, f"run-tree-{size}-{scheme}")


def test_runs_compared_side_by_side(page: Page, alice, live_app):
    for depth in (1, 3, 6):
        dataset_id, _ = train(live_app, "sample_classification.csv", algorithm="decision_tree",
                              target="plan", params={"max_depth": depth})  # fmt: skip
    for size, viewport, scheme in SCREENS:
        on_screen(page, viewport, scheme)
        page.goto(f"{alice}/runs")
        page.get_by_role("link", name="sample_classification", exact=True).first.click()
        expect(page.get_by_role("heading", name="Runs on sample_classification")).to_be_visible()
        table = page.get_by_test_id("compare-table")
        expect(table.locator("tbody tr")).to_have_count(3)
        expect(page.get_by_test_id("best")).to_have_count(1)
        header = table.get_by_role("button", name="Accuracy")
        header.click()
        expect(table.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
        page.get_by_label("Chart").select_option(label="F1 score (average of classes)")
        expect(page).to_have_url(re.compile(r"metric=f1_macro"))
        expect(page.get_by_test_id("metric-chart")).to_contain_text("F1 score")
        shot(page, f"compare-runs-{size}-{scheme}")
        page.get_by_role("button", name="Show the differences").click()
        expect(page.get_by_test_id("compare-settings").locator("tr.changed")).to_contain_text(
            "max depth"
        )
        if size == "phone":
            assert_no_sideways_scroll(page)
        shot(page, f"diff-runs-{size}-{scheme}")
    assert dataset_id


def test_progress_shows_time_and_cancel_is_a_real_button(page: Page, alice, live_app):
    from webapp.db import get_session, utcnow
    from webapp.models import Dataset, Run, User
    from webapp.services import datasets, run_settings, runs

    with live_app.app_context():
        session = get_session()
        user = session.query(User).filter_by(username="alice").one()
        content = (DATA / "sample_data.csv").read_bytes()
        dataset = datasets.create_dataset(
            session=session, user=user, filename="d.csv", content=content
        )
        settings = run_settings.parse_settings({"dataset_id": dataset.id, "algorithm": "kmeans"})
        run = runs.create_run(session=session, user=user, settings=settings,
                              submit=lambda run: None)  # fmt: skip
        # A run halfway through, as a worker reports it (no worker will touch it here).
        run.status, run.progress, run.stage = "running", 0.5, "Built 50 of 100 trees"
        run.started_at = run.heartbeat_at = utcnow() - timedelta(seconds=20)
        session.commit()
        run_id = run.id
        assert session.get(Dataset, dataset.id)
    for size, viewport, scheme in SCREENS[:2]:
        on_screen(page, viewport, scheme)
        page.goto(f"{alice}/runs/{run_id}")
        bar = page.get_by_role("progressbar", name="Training progress")
        expect(bar).to_have_attribute("aria-valuenow", "50")
        expect(bar).to_have_attribute("aria-valuetext", re.compile(r"50%, about \d+ s left"))
        expect(page.get_by_test_id("run-stage")).to_have_text("Built 50 of 100 trees")
        expect(page.get_by_test_id("time-left")).to_contain_text("about")
        expect(page.get_by_test_id("elapsed")).to_contain_text("s")
        shot(page, f"progress-{size}-{scheme}")
    page.get_by_role("button", name="Cancel the run").click()
    expect(page.get_by_role("button", name="Cancelling…")).to_be_disabled()
    with live_app.app_context():
        assert get_session().get(Run, run_id).cancel_requested


def test_training_form_defaults(page: Page, alice, live_app):
    train(live_app, "sample_classification.csv", algorithm="kmeans")
    for size, viewport, scheme in SCREENS:
        on_screen(page, viewport, scheme)
        page.goto(f"{alice}/runs/new")
        page.get_by_label("KMeans clustering").check()
        expect(page.get_by_role("checkbox", name=re.compile(r"^age"))).to_be_checked()
        expect(page.get_by_role("checkbox", name=re.compile(r"^region"))).not_to_be_checked()
        expect(page.get_by_role("checkbox", name=re.compile(r"^plan"))).not_to_be_checked()
        page.get_by_label("Random forest").check()
        target = page.get_by_label("Target column")
        target.select_option("plan")
        plan = page.get_by_role("checkbox", name=re.compile(r"^plan"))
        expect(plan).not_to_be_checked()
        expect(plan).to_be_disabled()
        target.select_option("age")
        expect(plan).to_be_checked()  # back as it was
        expect(page.get_by_role("checkbox", name=re.compile(r"^age"))).to_be_disabled()
        heights = [page.get_by_label(name).bounding_box()["height"]
                   for name in ("Target column", "Task")]  # fmt: skip
        assert abs(heights[0] - heights[1]) < 1, heights
        expect(page.get_by_label("Features per split")).to_have_value("")
        expect(page.locator("#mf-hint")).to_contain_text("regression forest")
        if size == "phone":
            assert_no_sideways_scroll(page)
        shot(page, f"run-form-{size}-{scheme}")


def test_deleting_a_model_asks_and_phone_tables_keep_their_actions(page: Page, alice, live_app):
    for k in (2, 3):
        train(live_app, "sample_data.csv", algorithm="kmeans", params={"k": k},
              model_name="Segments")  # fmt: skip
    for size, viewport, scheme in SCREENS:
        on_screen(page, viewport, scheme)
        page.goto(f"{alice}/models")
        table = page.get_by_test_id("versions")
        for name in ("Predict", "Download"):
            link = table.get_by_role("link", name=name).first
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], name
        label = table.locator("td[data-label]").first
        assert label.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1")
        expect(table).to_contain_text("Silhouette score")
        shot(page, f"models-{size}-{scheme}")
    page.get_by_role("link", name="Delete Segments v1").click()
    expect(page.get_by_role("heading", name=re.compile("Delete “Segments” v1"))).to_be_visible()
    shot(page, "delete-model-phone-dark")
    page.get_by_role("link", name="Keep it").click()
    expect(page.get_by_test_id("versions")).to_contain_text("v1")
    page.get_by_role("link", name="Delete Segments v1").click()
    page.get_by_role("button", name="Delete model version").click()
    expect(page.get_by_text("Deleted Segments v1.")).to_be_visible()


def test_favicon_and_the_way_back_from_the_api_docs(page: Page, live_server):
    for size, viewport, scheme in SCREENS:
        on_screen(page, viewport, scheme)
        icon = page.request.get(f"{live_server}/favicon.ico")
        assert icon.ok and icon.headers["content-type"].startswith("image/")
        open_api_docs(page, live_server)
        shot(page, f"api-docs-{size}-{scheme}")
        page.get_by_role("link", name="Back to Playground").click()
        expect(page).to_have_url(f"{live_server}/")
