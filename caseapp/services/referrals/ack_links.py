"""No-login acknowledgement links: a partner marks a referral `received` from an e-mail.

The link is signed with SECRET_KEY (itsdangerous), salted for this one purpose so no other
signed value of the application can stand in for it, carries only ids and a nonce (never the
client's details: links get forwarded), expires, and works once. Opening it (GET) changes
nothing, because mail scanners fetch links; acknowledging is a POST.

The e-mail channel calls ``make_ack_link(referral, config)``; the printed letter can print the
same URL (give it a longer ``max_age`` when verifying if post is slow).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caseapp.config import Config
from caseapp.domain import workflow
from caseapp.models import AckLinkUse, Referral
from caseapp.models.types import utcnow
from caseapp.rules.calendar import tokyo_isoformat
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, DomainError, NotFound
from caseapp.services.referrals import loop

SALT = "caseapp.referral-ack.v1"
MAX_AGE = timedelta(days=14)
PATH = "/api/v1/ack/"


class LinkExpired(DomainError):
    status = 410
    title = "Gone"


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


def make_token(referral: Referral, secret_key: str) -> str:
    return _serializer(secret_key).dumps(
        {"r": referral.id, "p": referral.partner_id, "n": secrets.token_urlsafe(12)})


def make_ack_link(referral: Referral, config: Config) -> str:
    """The URL to put in an e-mail notice or a printed letter for this referral."""
    return f"{config.base_url}{PATH}{make_token(referral, config.secret_key)}"


def verify(token: str, secret_key: str, *, now: datetime | None = None,
           max_age: timedelta = MAX_AGE) -> Claim:
    """Check signature and age; raises NotFound (forged or malformed) or LinkExpired."""
    now = now or utcnow()
    try:
        payload, issued = _serializer(secret_key).loads(token, return_timestamp=True)
        claim = Claim(int(payload["r"]), int(payload["p"]), str(payload["n"]),
                      issued.astimezone(UTC), issued.astimezone(UTC) + max_age)
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("このリンクは無効です（invalid link）") from exc
    if now > claim.expires_at:
        raise LinkExpired("このリンクの有効期限が切れています。受信箱から受理してください"
                          "（link expired; acknowledge in the inbox）",
                          extra={"expired_at": tokyo_isoformat(claim.expires_at)})
    return claim


def _link_actor(referral: Referral | None, source_ip: str | None) -> Actor:
    if referral is None:
        return Actor(user_id=None, name="ack-link", role="anonymous", source_ip=source_ip)
    return Actor(user_id=None, name=f"ack-link:{referral.partner.code}", role="partner",
                 partner_id=referral.partner_id, source_ip=source_ip)


def _resolve(session: Session, token: str, config: Config, action: str,
             source_ip: str | None, now: datetime) -> tuple[Claim, Referral]:
    referral = None
    try:
        claim = verify(token, config.secret_key, now=now)
        referral = session.get(Referral, claim.referral_id)
        if referral is None or referral.partner_id != claim.partner_id:
            raise NotFound("このリンクは無効です（invalid link）")
    except DomainError as exc:
        audit.record(session, _link_actor(None, source_ip), action, "ack_link", None,
                     outcome="denied", detail={"why": exc.title})
        session.commit()
        raise
    return claim, referral


def describe(session: Session, token: str, config: Config, *, source_ip: str | None = None,
             now: datetime | None = None) -> dict:
    """What the link would do; changes nothing (GET)."""
    now = now or utcnow()
    claim, referral = _resolve(session, token, config, "ack_link.view", source_ip, now)
    used = session.scalar(select(AckLinkUse.id).where(AckLinkUse.nonce == claim.nonce))
    audit.record(session, _link_actor(referral, source_ip), "ack_link.view", "referral",
                 referral.id)
    session.commit()
    return _summary(referral, claim, used=used is not None, config=config)


def use(session: Session, token: str, config: Config, *, source_ip: str | None = None,
        user_agent: str | None = None, now: datetime | None = None) -> dict:
    """Mark the referral received, once; every try, good or bad, is in the audit log."""
    now = now or utcnow()
    claim, referral = _resolve(session, token, config, "ack_link.use", source_ip, now)
    actor = _link_actor(referral, source_ip)
    try:
        if session.scalar(select(AckLinkUse.id).where(AckLinkUse.nonce == claim.nonce)):
            raise Conflict("このリンクは使用済みです（link already used）",
                           extra={"current_status": referral.status})
        loop.transition(session, referral, "received", actor,
                                 note="受理確認リンクで受理（acknowledged by link）", now=now)
        session.add(AckLinkUse(nonce=claim.nonce, referral_id=referral.id, used_at=now,
                               source_ip=source_ip, user_agent=(user_agent or "")[:300] or None))
        audit.record(session, actor, "ack_link.use", "referral", referral.id)
        session.commit()
    except (DomainError, IntegrityError) as exc:
        session.rollback()
        if isinstance(exc, IntegrityError):  # the same link used twice at the same moment
            exc = Conflict("このリンクは使用済みです（link already used）")
        audit.record(session, actor, "ack_link.use", "referral", claim.referral_id,
                     outcome="refused", detail={"why": exc.detail})
        session.commit()
        raise exc from None
    return _summary(referral, claim, used=True, config=config)


def _summary(referral: Referral, claim: Claim, *, used: bool, config: Config) -> dict:
    return {
        "referral_id": referral.id,
        "partner": referral.partner.name,
        "status": referral.status,
        "used": used,
        "can_acknowledge": (not used and "received" in workflow.allowed_next(
            referral.status, workflow.PARTNER)),
        "expires_at": claim.expires_at,
        "inbox_url": f"{config.base_url}/api/v1/partner/referrals/{referral.id}",
    }
