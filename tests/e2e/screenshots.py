"""Save screenshots of the account pages at desktop and phone width, to look at the layout.

    .venv/bin/python -m tests.e2e.screenshots [OUT_DIR] [--dark]

Runs the app on a throw-away SQLite database (CSRF on, as in production) and drives the
same Chromium the e2e tests use. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.conftest import alembic_config, make_test_app
from tests.e2e.conftest import CHROMIUM_CANDIDATES, CHROMIUM_FLAGS, serve

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
USER, PASSWORD = "alice", "first-password-123"


def serve_app(workdir: Path) -> tuple[object, str]:
    from alembic import command

    url = f"sqlite:///{workdir / 'shots.db'}"
    command.upgrade(alembic_config(url), "head")
    app = make_test_app(url, workdir / "instance", WTF_CSRF_ENABLED=True)
    server, _, base_url = serve(app)
    return server, base_url


def shoot(page, out: Path, name: str, full_page: bool = True) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(path)


def run(out: Path, dark: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server, base = serve_app(Path(tmp))
        executable = next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
            for size_name, viewport in SIZES.items():
                context = browser.new_context(
                    viewport=viewport, color_scheme="dark" if dark else "light"
                )
                page = context.new_page()
                prefix = f"{size_name}{'-dark' if dark else ''}"
                page.goto(f"{base}/")
                shoot(page, out, f"{prefix}-home-visitor")
                page.goto(f"{base}/auth/signup")
                page.get_by_role("button", name="Sign up").click()
                shoot(page, out, f"{prefix}-signup-errors")
                page.goto(f"{base}/auth/login")
                page.get_by_label("Username or email").fill(USER)
                page.get_by_label("Password").fill("wrong-password")
                page.get_by_role("button", name="Log in").click()
                shoot(page, out, f"{prefix}-login-error")
                username = USER if size_name == "desktop" else f"{USER}_on_the_phone"
                page.goto(f"{base}/auth/signup")
                page.get_by_label("Email").fill(f"{username}@example.com")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password", exact=True).fill(PASSWORD)
                page.get_by_label("Password again").fill(PASSWORD)
                page.get_by_role("button", name="Sign up").click()
                shoot(page, out, f"{prefix}-home-user")
                page.goto(f"{base}/auth/account")
                page.get_by_label("Current password").fill("not-it")
                page.get_by_label("New password", exact=True).fill("x")
                page.get_by_label("New password again").fill("y")
                page.get_by_role("button", name="Change password").click()
                shoot(page, out, f"{prefix}-account-errors")
                if size_name == "phone":
                    page.get_by_role("button", name="Menu").click()
                    shoot(page, out, f"{prefix}-menu-open", full_page=False)
                page.goto(f"{base}/no/such/page")
                shoot(page, out, f"{prefix}-404")
                context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    run(Path(args[0] if args else "screenshots"), dark="--dark" in sys.argv)
