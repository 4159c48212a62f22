"""What each channel carries for one referral, and the list of items it discloses."""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

from caseapp.config import Config
from caseapp.domain import ack_tokens, partner_view, signing
from caseapp.domain.vocab import ReferralStatus
from caseapp.models import Delivery, Referral
from caseapp.models.types import utcnow
from caseapp.rules.calendar import tokyo_isoformat
from caseapp.services.delivery.gateways import MailRequest, WebhookRequest, mail_date


def inbox_url(referral: Referral, config: Config) -> str:
    return f"{config.base_url}/api/v1/partner/referrals/{referral.id}"


def client_of(referral: Referral):
    if referral.consultation is not None and referral.consultation.client is not None:
        return referral.consultation.client
    return referral.case.client


def topics_of(referral: Referral) -> list[str]:
    if referral.consultation is not None:
        return referral.consultation.topics
    return list(dict.fromkeys(t for c in referral.case.consultations for t in c.topics))


def partner_data(referral: Referral, config: Config, now: datetime | None = None
                 ) -> tuple[dict, list[str]]:
    """The webhook ``data`` object and the personal items it carries, for the log.

    The partner's own detail view (partner_view, the one per-basis definition of what a
    partner may see) plus where to read it: a webhook never carries more than the inbox shows.
    """
    view, items = partner_view.build(referral, detail=True, now=now or utcnow(), history=False)
    data = {"referral_id": referral.id, "partner": referral.partner.code,
            **{key: view[key] for key in partner_view.WEBHOOK_FIELDS},
            "inbox_url": inbox_url(referral, config),
            "created_at": tokyo_isoformat(referral.created_at)}
    return _as_json(data), items


def _as_json(value):
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, datetime):
        return tokyo_isoformat(value)
    return value


def inbox(referral: Referral, now: datetime) -> list[str]:
    """An inbox-only partner is given the detail view it reads: the items that view shows."""
    _view, items = partner_view.build(referral, detail=True, now=now, history=False)
    return items


def webhook(delivery: Delivery, referral: Referral, config: Config,
            timestamp: int | None = None) -> tuple[WebhookRequest, list[str]]:
    data, fields = partner_data(referral, config)
    body = json.dumps({"type": delivery.event_type, "timestamp": data["created_at"],
                       "data": data}, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(utcnow().timestamp()) if timestamp is None else timestamp
    partner = referral.partner
    headers = signing.headers(partner.webhook_secret, delivery.message_id, timestamp, body)
    return WebhookRequest(url=partner.webhook_url, body=body, headers=headers), fields


def mail_domain(config: Config) -> str:
    sender = config.smtp_from.rsplit("@", 1)
    return sender[1] if len(sender) == 2 else (urlsplit(config.base_url).hostname or "caseapp")


def email(delivery: Delivery, referral: Referral, config: Config
          ) -> tuple[MailRequest, list[str]]:
    """A notice and links: never the client's details, which stay behind the partner login."""
    reminder = delivery.event_type == "referral.reminder"
    message = EmailMessage()
    message["From"] = config.smtp_from
    message["To"] = referral.partner.email
    message["Subject"] = (
        f"【確認のお願い】つなぎ No. {referral.id} の受理・対応状況をお知らせください" if reminder
        else f"【つなぎ】新しい紹介が届いています（No. {referral.id}）")
    message["Date"] = mail_date(utcnow())
    # Stable across retries, so a mail client or the partner can spot a duplicate.
    message["Message-ID"] = f"<{delivery.message_id}@{mail_domain(config)}>"
    lead = (f"つなぎ No. {referral.id} について、まだ受理・対応のご連絡をいただいていません。\n"
            if reminder else
            f"相談窓口から新しい紹介（つなぎ No. {referral.id}）が届いています。\n")
    items = ["referral_id", "inbox_url"]
    ack = ""
    if referral.status in (ReferralStatus.REQUESTED, ReferralStatus.SENT):
        # Lets a partner without an account say "received"; signed, expiring, single-use.
        token = ack_tokens.make_token(referral.id, referral.partner_id, config.secret_key)
        ack = f"受け取りのご連絡（ログイン不要）:\n{ack_tokens.link(config.base_url, token)}\n\n"
        items.append("ack_link")
    message.set_content(
        f"{referral.partner.name} ご担当者様\n\n{lead}"
        "内容は受信箱でログインしてご確認ください。\n\n"
        f"{inbox_url(referral, config)}\n\n{ack}"
        "このメールには相談者の個人情報は含まれていません。\n")
    return MailRequest(to=referral.partner.email, message=message), items
