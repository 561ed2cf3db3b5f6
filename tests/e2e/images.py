"""Waiting for an image the way a person does: until it has been drawn.

``page.wait_for_function`` with a string predicate polls by evaluating that string, and the
app's Content-Security-Policy (no 'unsafe-eval') refuses it whenever the first check is
false; auto-waiting ``expect`` reads the properties without eval.
"""

from __future__ import annotations

from playwright.sync_api import Locator, expect


def expect_loaded(image: Locator) -> None:
    """The image has finished loading and decoded to a real picture (not a broken icon)."""
    expect(image).to_have_js_property("complete", True)
    expect(image).not_to_have_js_property("naturalWidth", 0)
