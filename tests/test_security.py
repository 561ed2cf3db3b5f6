"""Password hashing and JWTs (webapp.security), without the app."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from webapp import security
from webapp.security import (
    ACCESS,
    MAX_PASSWORD_BYTES,
    REFRESH,
    PasswordPolicyError,
    TokenError,
    create_token,
    decode_token,
    hash_password,
    password_problem,
    stamp_digest,
    stamp_matches,
    verify_password,
)

STAMP = "0123456789abcdef0123456789abcdef"
SECRET = "unit-test-secret-" + "0123456789abcdef" * 4  # 64+ bytes: PyJWT warns below for HS512


def test_hash_and_verify():
    hashed = hash_password("correct-horse")
    assert hashed.startswith("$2")
    assert "correct-horse" not in hashed
    assert verify_password("correct-horse", hashed)
    assert not verify_password("correct-horsf", hashed)
    assert hash_password("correct-horse") != hashed  # salted


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("1234567", False),
        ("12345678", True),
        ("a" * 72, True),
        ("a" * 73, False),
        ("é" * 36, True),  # 72 bytes
        ("é" * 37, False),  # 37 characters, 74 bytes
        ("🔒" * 18, True),  # 72 bytes
        ("🔒" * 19, False),
    ],
)
def test_password_rules_count_characters_and_bytes(password, ok):
    assert (password_problem(password) is None) is ok
    if ok:
        assert verify_password(password, hash_password(password))
    else:
        with pytest.raises(PasswordPolicyError):
            hash_password(password)


def test_verify_never_raises_on_overlong_or_missing_hash():
    hashed = hash_password("correct-horse")
    assert not verify_password("x" * (MAX_PASSWORD_BYTES + 1), hashed)
    assert not verify_password("correct-horse", None)
    assert not verify_password("", hashed)


def test_token_round_trip_has_all_claims():
    token, jti, expires_at = create_token(
        user_id=7, token_type=ACCESS, secret=SECRET, lifetime=timedelta(minutes=5), stamp=STAMP
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = decode_token(token, secret=SECRET, expected_type=ACCESS)
    assert {"sub", "exp", "iat", "jti", "type", "stp"} <= set(claims)
    assert stamp_matches(claims, STAMP) and not stamp_matches(claims, "another-stamp")
    assert STAMP not in token and STAMP not in str(claims)  # a digest, not the stamp
    assert claims["sub"] == "7" and claims["user_id"] == 7
    assert claims["jti"] == jti
    assert claims["exp"] == int(expires_at.timestamp())


def test_each_token_has_a_fresh_jti():
    make = lambda: create_token(  # noqa: E731
        user_id=1, token_type=REFRESH, secret=SECRET, lifetime=timedelta(days=1), stamp=STAMP
    )[1]
    assert make() != make()


@pytest.mark.parametrize(("made_as", "expected"), [(ACCESS, REFRESH), (REFRESH, ACCESS)])
def test_token_type_is_checked(made_as, expected):
    token, _, _ = create_token(
        user_id=1, token_type=made_as, secret=SECRET, lifetime=timedelta(minutes=5), stamp=STAMP
    )
    with pytest.raises(TokenError, match=f"Expected an {expected} token"):
        decode_token(token, secret=SECRET, expected_type=expected)


def test_expired_and_wrongly_signed_tokens_are_refused():
    expired, _, _ = create_token(
        user_id=1, token_type=ACCESS, secret=SECRET, lifetime=timedelta(seconds=-1), stamp=STAMP
    )
    with pytest.raises(TokenError, match="expired"):
        decode_token(expired, secret=SECRET, expected_type=ACCESS)
    valid, _, _ = create_token(
        user_id=1, token_type=ACCESS, secret=SECRET, lifetime=timedelta(minutes=5), stamp=STAMP
    )
    with pytest.raises(TokenError):
        decode_token(valid, secret=SECRET + "x", expected_type=ACCESS)


def test_a_token_checked_before_still_expires(monkeypatch):
    """Verified tokens are remembered (security._verified_claims); the expiry is not."""
    token, _, expires_at = create_token(
        user_id=1, token_type=ACCESS, secret=SECRET, lifetime=timedelta(minutes=5), stamp=STAMP
    )
    assert decode_token(token, secret=SECRET, expected_type=ACCESS)["user_id"] == 1
    later = expires_at.timestamp() + 1
    monkeypatch.setattr(security.time, "time", lambda: later)
    with pytest.raises(TokenError, match="expired"):
        decode_token(token, secret=SECRET, expected_type=ACCESS)


def test_a_remembered_token_is_checked_against_the_key_and_type_in_use():
    token, _, _ = create_token(
        user_id=1, token_type=ACCESS, secret=SECRET, lifetime=timedelta(minutes=5), stamp=STAMP
    )
    claims = decode_token(token, secret=SECRET, expected_type=ACCESS)
    claims["sub"] = "2"  # what a caller does with its claims stays with it
    assert decode_token(token, secret=SECRET, expected_type=ACCESS)["user_id"] == 1
    with pytest.raises(TokenError, match="Signature verification failed"):
        decode_token(token, secret=SECRET + "rotated", expected_type=ACCESS)
    with pytest.raises(TokenError, match="Expected an refresh token"):
        decode_token(token, secret=SECRET, expected_type=REFRESH)


def test_an_expiry_that_is_not_a_number_is_refused():
    token = jwt.encode(_claims() | {"exp": "soon"}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="must be an integer"):
        decode_token(token, secret=SECRET, expected_type=ACCESS)


def _claims() -> dict:
    return {
        "sub": "1",
        "iat": 1,
        "exp": 4_000_000_000,
        "jti": "j",
        "type": ACCESS,
        "stp": stamp_digest(STAMP),
    }


def test_other_algorithms_are_refused():
    hs512 = jwt.encode(_claims(), SECRET, algorithm="HS512")
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    for token in (hs512, unsigned):
        with pytest.raises(TokenError):
            decode_token(token, secret=SECRET, expected_type=ACCESS)
    assert decode_token(
        jwt.encode(_claims(), SECRET, algorithm="HS256"), secret=SECRET, expected_type=ACCESS
    )


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "jti", "type", "stp"])
def test_missing_claims_are_refused(claim):
    claims = _claims()
    del claims[claim]
    with pytest.raises(TokenError):
        decode_token(
            jwt.encode(claims, SECRET, algorithm="HS256"), secret=SECRET, expected_type=ACCESS
        )


def test_non_numeric_subject_is_refused():
    token = jwt.encode(_claims() | {"sub": "alice"}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="subject"):
        decode_token(token, secret=SECRET, expected_type=ACCESS)


@pytest.mark.production_bcrypt
def test_production_work_factor_is_bcrypts_default():
    assert hash_password("correct-horse").startswith("$2b$12$")
