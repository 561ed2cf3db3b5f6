"""Password hashing (bcrypt), JSON Web Tokens (PyJWT, HS256 only) and personal API tokens.

Every JWT names its user (``sub``) *and* a digest of the user's security stamp (``stp``):
the stamp changes at password change and log-out, and an account deleted and another made
never share one, so a token outlives none of these (the API checks ``stp`` on every
request, see ``webapp.api.deps``). The digest, not the stamp, goes into the token: a JWT is
signed, not encrypted.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt

ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 8
# bcrypt only reads 72 bytes (bcrypt 5 raises beyond); longer passwords are refused as bad input.
MAX_PASSWORD_BYTES = 72
ACCESS = "access"
REFRESH = "refresh"


class PasswordPolicyError(ValueError):
    """The password breaks the length rules; the message says which."""


class TokenError(Exception):
    """A token is missing, malformed, expired, of the wrong type or otherwise invalid."""


def password_problem(password: str) -> str | None:
    """Return why ``password`` is unacceptable, or None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return f"Password must be at most {MAX_PASSWORD_BYTES} bytes long (UTF-8)."
    return None


# bcrypt's work factor (its default). Tests lower it: only the cost changes, not the logic.
BCRYPT_ROUNDS = 12


def hash_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise PasswordPolicyError(problem)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    """Checked against when the user does not exist, so a wrong user costs as much as a wrong
    password (made with the same work factor as real hashes)."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds))


def verify_password(password: str, password_hash: str | None) -> bool:
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        # bcrypt 5 raises on these; no stored password can be this long, but keep the cost.
        bcrypt.checkpw(b"x", _dummy_hash(BCRYPT_ROUNDS))
        return False
    if password_hash is None:
        bcrypt.checkpw(encoded, _dummy_hash(BCRYPT_ROUNDS))
        return False
    return bcrypt.checkpw(encoded, password_hash.encode("ascii"))


def stamp_digest(stamp: str) -> str:
    """What a token carries of a security stamp (compared in constant time)."""
    return hashlib.sha256(b"playground-stamp:" + stamp.encode()).hexdigest()[:32]


def stamp_matches(claims: dict, stamp: str) -> bool:
    return secrets.compare_digest(str(claims.get("stp", "")), stamp_digest(stamp))


def create_token(
    *, user_id: int, token_type: str, secret: str, lifetime: timedelta, stamp: str
) -> tuple[str, str, datetime]:
    """Return ``(token, jti, expires_at)`` for a signed token of ``token_type``, bound to
    the user's security ``stamp``."""
    now = datetime.now(UTC)
    expires_at = now + lifetime
    jti = uuid.uuid4().hex
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": expires_at,
        "jti": jti,
        "type": token_type,
        "stp": stamp_digest(stamp),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), jti, expires_at


def decode_token(token: str, *, secret: str, expected_type: str) -> dict:
    """Verify signature, expiry and type; raise ``TokenError`` with a readable reason."""
    try:
        verified, expires = _verified_claims(token, secret)
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"Invalid token: {exc}.") from None
    if expires <= time.time():
        raise TokenError("Token has expired.")
    claims = dict(verified)
    if claims.get("type") != expected_type:
        raise TokenError(f"Expected an {expected_type} token, got a {claims.get('type')} token.")
    try:
        claims["user_id"] = int(claims["sub"])
    except (TypeError, ValueError):
        raise TokenError("Invalid token subject.") from None
    return claims


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str) -> tuple[dict, int]:
    """The claims of a token whose signature and claims check out, and its expiry time.

    A client sends the same access token with every request, and PyJWT spent 5-6% of an
    API list's CPU checking it again (it tests each character of each part in Python). What
    a signature proves never changes, so the outcome is kept per token and key; the expiry,
    the one thing that does change, is checked by :func:`decode_token` every time. Only
    tokens that verify are kept (a failure raises, and ``lru_cache`` keeps no exceptions),
    so made-up tokens cannot fill it; 4,096 tokens take about 4 MB. The caller must not
    change the claims it gets."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        options={"require": ["sub", "exp", "iat", "jti", "type", "stp"], "verify_exp": False},
    )
    try:
        expires = int(claims["exp"])  # as PyJWT reads it when it checks the expiry
    except (ValueError, TypeError, OverflowError):
        raise jwt.DecodeError("Expiration Time claim (exp) must be an integer.") from None
    return claims, expires


# -- personal API tokens ---------------------------------------------------------------------

API_TOKEN_PREFIX = "pgp_"  # noqa: S105 (a label that secret scanners match, not a secret)


def new_api_token() -> str:
    """A personal API token: 256 random bits, recognisable by its prefix (secret scanners)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_digest(token: str) -> str:
    """How a personal API token is stored and looked up. The token is random, not chosen by
    a person, so an unsalted fast digest cannot be reversed by guessing."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
