"""Layout checks measured on what a person sees.

A page is painted only once its stylesheets have loaded, but its DOM can be read before:
a test that waits for a heading and then measures can lay the page out with app.css alone.
That is how ``test_load_a_sample_then_delete_it_on_a_phone`` once read a 442px scroll width:
the data set page without datasets.css (still being revalidated by a busy server) lets the
preview table widen the page, a state no one ever sees. So the measurement waits for the
page's load event (every stylesheet and image in) and is taken in the next animation frame,
the layout that is painted.

Sideways scrolling is ``scrollWidth > clientWidth`` of the root element. ``innerWidth`` is no
reference: under phone emulation a too-wide page makes the browser zoom out, and innerWidth
grows with the page.
"""

from __future__ import annotations

from playwright.sync_api import Page

_MEASURE = """() => new Promise((resolve) => requestAnimationFrame(() => {
  const root = document.documentElement;
  const scrolls = (el) => getComputedStyle(el).overflowX !== "visible";
  const insideScrollBox = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrolls(p)) return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > root.clientWidth && !insideScrollBox(el))
    .slice(0, 8)
    .map((el) => el.tagName.toLowerCase() + "." + (el.getAttribute("class") || ""));
  resolve({scroll: root.scrollWidth, client: root.clientWidth, wide});
}))"""


def assert_no_sideways_scroll(page: Page, where: str = "") -> None:
    """The page, as painted, fits its viewport's width (boxes that scroll inside are fine)."""
    page.wait_for_load_state("load")
    size = page.evaluate(_MEASURE)
    assert size["scroll"] <= size["client"], (
        f"{where or page.url} scrolls sideways: {size['scroll']}px wide in a "
        f"{size['client']}px viewport; too wide: {size['wide']}"
    )
