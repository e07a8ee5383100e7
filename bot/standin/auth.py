"""Who is calling: tokens from `Authorization` headers, and GitHub App JWTs."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import TYPE_CHECKING

from bot.standin.state import Token
from bot.standin.web import ApiError

if TYPE_CHECKING:
    from bot.standin.server import StandIn

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
BAD_CREDENTIALS = "Bad credentials"


def credential(header: str | None) -> str | None:
    """The secret in `Authorization: token X`, `Bearer X` or `Basic base64(user:X)`."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme in ("token", "bearer"):
        return value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except ValueError:
            return None
        user, _, password = decoded.partition(":")
        # git sends x-access-token:TOKEN; some clients put the token in the user part instead.
        return password or user
    return None


def authenticate(gh: StandIn, header: str | None) -> Token | None:
    """The token for this request; None when anonymous. Raises 401 for unknown credentials."""
    secret = credential(header)
    if secret is None:
        return None
    token = gh.state.tokens.get(secret)
    if token is not None:
        if token.expires_at is not None and token.expires_at < time.time():
            raise ApiError(401, BAD_CREDENTIALS, doc="https://docs.github.com/rest")
        return token
    if _JWT.match(secret):
        return app_jwt(gh, secret)
    raise ApiError(401, BAD_CREDENTIALS, doc="https://docs.github.com/rest")


def app_jwt(gh: StandIn, secret: str) -> Token:
    """A GitHub App JWT: RS256-verified when the stand-in knows the app's public key."""
    claims = _verified_claims(gh, secret) if gh.app_public_key else _unverified_claims(secret)
    if str(claims.get("iss")) != str(gh.app_id):
        raise ApiError(401, "'Issuer' claim ('iss') must be an Integer", doc="https://docs.github.com/rest")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < time.time() - 60:
        raise ApiError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time "
            "at which the assertion expires",
            doc="https://docs.github.com/rest",
        )
    return Token(secret, gh.app_slug, "jwt", scopes=())


def _verified_claims(gh: StandIn, secret: str) -> dict[str, object]:
    try:
        import jwt  # PyJWT with cryptography (PyGithub's own dependency for App auth)
    except ImportError:
        # Without PyJWT the signature cannot be checked; still enforce the claims below.
        return _unverified_claims(secret)

    try:
        return jwt.decode(
            secret,
            gh.app_public_key or "",
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        raise ApiError(
            401, "A JSON web token could not be decoded", doc="https://docs.github.com/rest"
        ) from None


def _unverified_claims(secret: str) -> dict[str, object]:
    payload = secret.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        raise ApiError(
            401, "A JSON web token could not be decoded", doc="https://docs.github.com/rest"
        ) from None
    return claims if isinstance(claims, dict) else {}
