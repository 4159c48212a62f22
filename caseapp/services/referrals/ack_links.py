"""No-login acknowledgement links: a partner marks a referral `received` from an e-mail.

The token (caseapp.domain.ack_tokens) is signed, salted for this one purpose, carries only ids
and a nonce, and expires; here it also works once. Opening it (GET) changes nothing, because
mail scanners fetch links; acknowledging is a POST.

The e-mail channel puts ``make_ack_link(referral, config)`` in its notice. A printed letter
carries a link signed for longer and a short code typed at ``/ack`` (``use_code``); the two
share one nonce, so the letter acknowledges once whichever is used.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caseapp.config import Config
from caseapp.domain import ack_codes, ack_tokens, workflow
from caseapp.domain.ack_tokens import MAX_AGE, PATH, SALT, Claim
from caseapp.domain.vocab import REFERRAL_STATUS_LABELS, ReferralStatus
from caseapp.models import AckCode, AckLinkUse, Referral
from caseapp.models.types import utcnow
from caseapp.rules.calendar import tokyo_isoformat
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, DomainError, NotFound
from caseapp.services.referrals import loop

__all__ = ["MAX_AGE", "PATH", "SALT", "AlreadyUsed", "Claim", "LinkExpired", "describe",
           "make_ack_link", "make_token", "outcome_of", "use", "use_code", "verify"]

EXPIRED = ("このリンクの有効期限が切れています。受信箱から受理してください"
           "（link expired; acknowledge in the inbox）")
USED = "このリンクは使用済みです（link already used）"


class LinkExpired(DomainError):
    status = 410
    title = "Gone"


class AlreadyUsed(Conflict):
    """This link or code has acknowledged the referral already."""


def outcome_of(error: DomainError) -> str:
    """What a refused link or code means for the person: unknown, expired, used or closed."""
    if isinstance(error, LinkExpired):
        return "expired"
    if isinstance(error, AlreadyUsed):
        return "used"
    if isinstance(error, Conflict):
        return "closed"  # the referral moved on (acknowledged another way, cancelled, ...)
    return "unknown"


def make_token(referral: Referral, secret_key: str) -> str:
    return ack_tokens.make_token(referral.id, referral.partner_id, secret_key)


def make_ack_link(referral: Referral, config: Config) -> str:
    """The URL to put in an e-mail notice or a printed letter for this referral."""
    return ack_tokens.link(config.base_url, make_token(referral, config.secret_key))


def verify(token: str, secret_key: str, *, now: datetime | None = None,
           max_age: timedelta = MAX_AGE) -> Claim:
    """Check signature and age; raises NotFound (forged or malformed) or LinkExpired."""
    try:
        return ack_tokens.read(token, secret_key, now=now or utcnow(), max_age=max_age)
    except ack_tokens.InvalidToken as exc:
        raise NotFound("このリンクは無効です（invalid link）") from exc
    except ack_tokens.ExpiredToken as exc:
        raise LinkExpired(EXPIRED, extra={"expired_at": tokyo_isoformat(exc.expired_at)}) from exc


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
    return _summary(referral, claim.expires_at, used=used is not None, config=config)


def use(session: Session, token: str, config: Config, *, source_ip: str | None = None,
        user_agent: str | None = None, now: datetime | None = None) -> dict:
    """Mark the referral received, once; every try, good or bad, is in the audit log."""
    now = now or utcnow()
    claim, referral = _resolve(session, token, config, "ack_link.use", source_ip, now)
    _acknowledge(session, referral, claim.nonce, _link_actor(referral, source_ip),
                 "ack_link.use", "受理確認リンクで受理（acknowledged by link）",
                 source_ip=source_ip, user_agent=user_agent, now=now)
    return _summary(referral, claim.expires_at, used=True, config=config)


def use_code(session: Session, typed: str, config: Config, *, source_ip: str | None = None,
             user_agent: str | None = None, now: datetime | None = None) -> dict:
    """The short code of a printed letter, typed at /ack: as ``use``, every try audited.

    Raises NotFound (no such code), LinkExpired, AlreadyUsed or Conflict (the referral cannot
    be acknowledged any more, e.g. cancelled).
    """
    now = now or utcnow()
    code = ack_codes.normalise(typed)
    row = session.scalar(select(AckCode).where(AckCode.code == code)) if code else None
    if row is None:
        # What was typed is not kept: a wrong code is no one's, and a near miss of a real one
        # should not sit in the log.
        audit.record(session, _link_actor(None, source_ip), "ack_code.use", "ack_code", None,
                     outcome="denied", detail={"why": "unknown"})
        session.commit()
        raise NotFound("このコードは見つかりません。紹介状に印刷されたコードを確かめてください"
                       "（unknown code）")
    referral = row.referral
    actor = _link_actor(referral, source_ip)
    if now > row.expires_at:
        audit.record(session, actor, "ack_code.use", "referral", referral.id, outcome="denied",
                     detail={"why": "expired", "ack_code_id": row.id})
        session.commit()
        raise LinkExpired(EXPIRED, extra={"expired_at": tokyo_isoformat(row.expires_at)})
    _acknowledge(session, referral, row.nonce, actor, "ack_code.use",
                 "紹介状の受付コードで受理（acknowledged by the letter's code）",
                 source_ip=source_ip, user_agent=user_agent, now=now,
                 detail={"ack_code_id": row.id})
    return _summary(referral, row.expires_at, used=True, config=config)


def _acknowledge(session: Session, referral: Referral, nonce: str, actor: Actor, action: str,
                 note: str, *, source_ip: str | None, user_agent: str | None, now: datetime,
                 detail: dict | None = None) -> None:
    """Mark received once per nonce, in one transaction with its use row and audit entry."""
    referral_id = referral.id
    try:
        if session.scalar(select(AckLinkUse.id).where(AckLinkUse.nonce == nonce)):
            raise AlreadyUsed(USED, extra={"current_status": referral.status})
        loop.transition(session, referral, ReferralStatus.RECEIVED, actor, note=note, now=now)
        session.add(AckLinkUse(nonce=nonce, referral_id=referral_id, used_at=now,
                               source_ip=source_ip, user_agent=(user_agent or "")[:300] or None))
        audit.record(session, actor, action, "referral", referral_id, detail=detail)
        session.commit()
    except (DomainError, IntegrityError) as exc:
        session.rollback()
        if isinstance(exc, IntegrityError):  # the same link used twice at the same moment
            exc = AlreadyUsed(USED)
        audit.record(session, actor, action, "referral", referral_id,
                     outcome="refused", detail={**(detail or {}), "why": exc.detail})
        session.commit()
        raise exc from None


def _summary(referral: Referral, expires_at: datetime, *, used: bool, config: Config) -> dict:
    return {
        "referral_id": referral.id,
        "partner": referral.partner.name,
        "status": referral.status,
        "status_label": REFERRAL_STATUS_LABELS.get(referral.status, referral.status),
        "used": used,
        "can_acknowledge": (not used and "received" in workflow.allowed_next(
            referral.status, workflow.PARTNER)),
        "expires_at": expires_at,
        "inbox_url": f"{config.base_url}/api/v1/partner/referrals/{referral.id}",
    }
