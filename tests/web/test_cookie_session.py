"""The session cookie's signer is made once (webapp.cookie_session) and follows the keys."""

from __future__ import annotations

from webapp.cookie_session import SignerOnceSessionInterface


def _signed_in(client) -> bool:
    return client.get("/boards").status_code == 200


def test_the_app_signs_sessions_with_one_signer(app):
    assert isinstance(app.session_interface, SignerOnceSessionInterface)
    with app.test_request_context():
        first = app.session_interface.get_signing_serializer(app)
        assert app.session_interface.get_signing_serializer(app) is first


def test_a_new_key_with_the_old_one_as_fallback_keeps_sessions(app, client, auth):
    auth.signup_and_login()
    assert _signed_in(client)
    old = app.secret_key
    app.config.update(SECRET_KEY="a-new-key-" + "0" * 40, SECRET_KEY_FALLBACKS=[old])
    assert _signed_in(client)  # an old cookie: checked with the fallback


def test_a_new_key_alone_ends_sessions_signed_with_the_old_one(app, client, auth):
    auth.signup_and_login()
    assert _signed_in(client)
    app.config["SECRET_KEY"] = "a-new-key-" + "0" * 40
    assert not _signed_in(client)
