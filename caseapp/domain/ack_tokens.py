"""Signed acknowledgement tokens: the part of a no-login link that needs no database.

Signed with SECRET_KEY (itsdangerous) and salted for this one purpose, so no other signed
value of the application can stand in for one; they carry only ids and a nonce, never the
client's details, because links get forwarded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "caseapp.referral-ack.v1"
MAX_AGE = timedelta(days=14)
# A printed letter travels by hand or post and may be shown to the partner weeks later.
LETTER_MAX_AGE = timedelta(days=30)
PATH = "/api/v1/ack/"


class InvalidToken(ValueError):
    """Forged, malformed or signed with another key."""


class ExpiredToken(ValueError):
    def __init__(self, expired_at: datetime):
        super().__init__(f"expired at {expired_at.isoformat()}")
        self.expired_at = expired_at


@dataclass(frozen=True)
class Claim:
    referral_id: int
    partner_id: int
    nonce: str
    issued_at: datetime
    expires_at: datetime


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    if not secret_key:
        raise RuntimeError("SECRET_KEY is empty: acknowledgement links cannot be signed")
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def make_token(referral_id: int, partner_id: int, secret_key: str, *,
               nonce: str | None = None, lifetime: timedelta | None = None) -> str:
    """A token; ``lifetime`` (signed with it) overrides the reader's default maximum age."""
    payload = {"r": referral_id, "p": partner_id, "n": nonce or new_nonce()}
    if lifetime is not None:
        payload["l"] = int(lifetime.total_seconds())
    return _serializer(secret_key).dumps(payload)


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def link(base_url: str, token: str) -> str:
    return f"{base_url}{PATH}{token}"


def read(token: str, secret_key: str, *, now: datetime, max_age: timedelta = MAX_AGE) -> Claim:
    """Check signature and age; raises InvalidToken or ExpiredToken."""
    try:
        payload, issued = _serializer(secret_key).loads(token, return_timestamp=True)
        if "l" in payload:
            max_age = timedelta(seconds=int(payload["l"]))
        claim = Claim(int(payload["r"]), int(payload["p"]), str(payload["n"]),
                      issued.astimezone(UTC), issued.astimezone(UTC) + max_age)
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
    if now > claim.expires_at:
        raise ExpiredToken(claim.expires_at)
    return claim
