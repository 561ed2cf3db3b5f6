"""Work other features do when an account is created (e.g. the boards feature makes a
default board). Features register a function at import time; ``create_user`` runs them in
the same transaction, so a failed hook leaves no half-made account."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from webapp.models import User

_HOOKS: list[Callable[..., None]] = []


def register(hook: Callable[..., None]) -> Callable[..., None]:
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def run(*, session: Session, user: User) -> None:
    for hook in _HOOKS:
        hook(session=session, user=user)
