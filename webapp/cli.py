"""``flask`` commands: demo data for ``make run``."""

from __future__ import annotations

import os

import click
from flask import Flask
from sqlalchemy import select

from webapp.db import get_session
from webapp.models import User
from webapp.services import users

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create the demo account (once) and print its credentials."""
        password = os.environ.get("DEMO_PASSWORD", DEMO_PASSWORD)
        session = get_session()
        user = session.scalar(select(User).where(User.username == DEMO_USERNAME))
        if user is None:
            user = users.create_user(
                session=session, email=DEMO_EMAIL, username=DEMO_USERNAME, password=password
            )
            click.echo("Created the demo account.")
        click.echo(f"Demo log-in: username '{DEMO_USERNAME}', password '{password}'")
