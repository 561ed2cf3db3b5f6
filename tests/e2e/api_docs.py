"""Opening /api/docs the way a person does: wait until Swagger UI shows the operations.

Swagger UI fetches and resolves the whole OpenAPI document (about 200 KB) on the page's main
thread before it draws anything; until then the page shows "LOADING" and takes no clicks,
not even on our own header's links. On one busy CPU that took 9 s
(``make test-browser-loaded``), so this wait is longer than the suite's default.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

SWAGGER_READY_MS = 30_000


def open_api_docs(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=SWAGGER_READY_MS)
