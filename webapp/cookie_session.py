"""The browser session cookie, signed as Flask signs it, with the signer made once.

Flask's ``SecureCookieSessionInterface`` builds a new ``URLSafeTimedSerializer`` for every
request, API calls without a cookie included, and itsdangerous test-serialises ``{}`` while
building one: 1.5-2% of an API list's CPU, 4% of a board page's (py-spy under load). The
serializer depends only on the keys, so it is kept until ``SECRET_KEY`` or
``SECRET_KEY_FALLBACKS`` change; what is signed and how is Flask's own.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SignerOnceSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._signer: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._signer  # one read: another thread may replace it meanwhile
        if kept is None or kept[0] != keys:
            kept = self._signer = (keys, super().get_signing_serializer(app))
        return kept[1]
