"""Staff alerts: what a person must act on, kept as rows and mailed (SMTP or .eml files)."""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from caseapp.config import Config
from caseapp.models import Partner, Referral, StaffAlert, User
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.lookup import not_found
from caseapp.services.core.pagination import Page, paginate
from caseapp.services.delivery.gateways import MailGateway, MailRequest, mail_date

log = logging.getLogger(__name__)
MAIL_BATCH = 50
# Kinds about a person in danger: listed before every other alert while unread.
URGENT_KINDS = ("emergency", "life_safety_review")


def current_config() -> Config | None:
    return current_app.config["CASEAPP"] if has_app_context() else None


def raise_alert(session: Session, kind: str, message: str, *, config: Config | None,
                user_id: int | None = None, role: str | None = None,
                referral: Referral | None = None, partner: Partner | None = None) -> StaffAlert:
    """Add an alert to the caller's transaction, for one user or for everyone in a role."""
    mail = bool(config and _addresses(session, user_id, role, config))
    alert = StaffAlert(kind=kind, message=message, user_id=user_id, role=role,
                       referral_id=referral.id if referral else None,
                       partner_id=partner.id if partner else None,
                       mail_state="pending" if mail else "none")
    session.add(alert)
    return alert


def _addresses(session: Session, user_id: int | None, role: str | None,
               config: Config | None = None) -> list[str]:
    query = select(User.email).where(User.active.is_(True), User.email.is_not(None))
    if user_id is not None:
        query = query.where(User.id == user_id)
    elif role is not None:
        query = query.where(User.role == role)
    else:
        return []
    found = [a for a in session.scalars(query.order_by(User.id)) if a]
    if not found and role == "supervisor" and config is not None and config.supervisor_email:
        # No supervisor account has an address: the configured supervisors' mailbox.
        found = [config.supervisor_email]
    return found


def _visible_to(actor: Actor):
    return or_(StaffAlert.user_id == actor.user_id,
               (StaffAlert.user_id.is_(None)) & (StaffAlert.role == actor.role))


def listing(session: Session, actor: Actor, *, unread: bool, page: int, per_page: int) -> Page:
    query = select(StaffAlert).where(_visible_to(actor))
    if unread:
        query = query.where(StaffAlert.read_at.is_(None))
    urgent_first = case((StaffAlert.kind.in_(URGENT_KINDS) & StaffAlert.read_at.is_(None), 0),
                        else_=1)
    return paginate(session, query.order_by(urgent_first, StaffAlert.id.desc()), page, per_page)


def mark_read(session: Session, actor: Actor, alert_id: int) -> StaffAlert:
    alert = session.scalar(select(StaffAlert).where(StaffAlert.id == alert_id,
                                                    _visible_to(actor)))
    if alert is None:
        raise not_found("alert", alert_id)
    if alert.read_at is None:
        alert.read_at, alert.read_by_id = utcnow(), actor.user_id
        audit.record(session, actor, "read", "staff_alert", alert.id)
    session.commit()
    return alert


def mail_pending(session: Session, mail: MailGateway, config: Config,
                 now: datetime | None = None) -> int:
    """Send the courtesy e-mails of pending alerts; each is claimed first, so it goes once.

    At most once, on purpose: the alert row is the record and stays visible in GET /alerts, so
    a mail lost to a crash costs nothing, while a mail sent twice would be noise.
    """
    ids = list(session.scalars(select(StaffAlert.id).where(StaffAlert.mail_state == "pending")
                               .order_by(StaffAlert.id).limit(MAIL_BATCH)))
    session.commit()
    sent = 0
    for alert_id in ids:
        claimed = session.execute(update(StaffAlert)
                                  .where(StaffAlert.id == alert_id,
                                         StaffAlert.mail_state == "pending")
                                  .values(mail_state="sending")
                                  .execution_options(synchronize_session=False))
        session.commit()
        if claimed.rowcount != 1:
            continue
        alert = session.get(StaffAlert, alert_id, populate_existing=True)
        addresses = _addresses(session, alert.user_id, alert.role, config)
        session.commit()
        ok = True
        for address in addresses:
            message = EmailMessage()
            message["From"], message["To"] = config.smtp_from, address
            message["Subject"] = f"【caseapp】{_SUBJECTS.get(alert.kind, '確認が必要です')}"
            message["Date"] = mail_date(now or utcnow())
            message.set_content(f"{alert.message}\n\n{config.base_url}/api/v1/alerts\n")
            ok = mail.send(MailRequest(to=address, message=message)).ok and ok
        alert.mail_state = "sent" if ok else "failed"
        session.commit()
        sent += 1
    return sent


_SUBJECTS = {
    "emergency": "【緊急】生命・身体の危険がある相談を受け付けました",
    "life_safety_review": "同意なしの情報提供（生命・身体の保護）の事後確認をお願いします",
    "referral_failed": "つなぎを届けられませんでした",
    "webhook_disabled": "連携機関の Webhook が停止されました",
    "delivery_failed": "つなぎの送信経路の一つが失敗しました",
}
