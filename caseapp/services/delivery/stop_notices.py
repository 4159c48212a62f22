"""The notice that tells a partner holding a referral that use of the person's data stopped.

利用停止 (個人情報保護法 §35): the counter must stop its partners' use too, without sending
anything personal to do so. The notice names only our referral number; the partner finds the
rest in its own records. It goes through the outbox like a referral (stable message id,
retries), on the partner's push channels; the partner inbox shows the stop by itself.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.orm import Session

from caseapp.config import Config
from caseapp.domain import signing
from caseapp.domain.vocab import DeliveryChannel, DeliveryState
from caseapp.models import Delivery, Referral
from caseapp.models.types import utcnow
from caseapp.services.delivery import outbox
from caseapp.services.delivery.gateways import MailRequest, SendResult, WebhookRequest, mail_date
from caseapp.services.delivery.messages import inbox_url, mail_domain

EVENT = "referral.use_stopped"
TEXT = ("ご本人から個人情報の利用停止（個人情報保護法 第35条）の求めがありました。"
        "このつなぎに関するご本人の情報の利用を停止してください。"
        " / The person has asked us to stop using their data; please stop using it too.")


def add(session: Session, referral: Referral, now: datetime | None = None) -> list[Delivery]:
    """One notice row per push channel of the partner; a later stop re-arms it as a new message."""
    now = now or utcnow()
    existing = {d.channel: d for d in referral.deliveries
                if d.event_type == EVENT and d.reminder_id is None}
    rows = []
    for channel in referral.partner.channels(email_enabled=outbox.email_enabled()):
        if channel == DeliveryChannel.INBOX:
            continue
        row = existing.get(channel)
        if row is None:
            row = Delivery(referral=referral, channel=channel, event_type=EVENT,
                           message_id=outbox.message_id(), state=DeliveryState.PENDING,
                           next_attempt_at=now)
            session.add(row)
        elif row.state != DeliveryState.IN_FLIGHT:
            # A stop after a resume is news again, so it gets an id the partner has not seen.
            row.message_id, row.state, row.attempts = outbox.message_id(), DeliveryState.PENDING, 0
            row.next_attempt_at, row.leased_until, row.enqueued_at = now, None, None
            row.last_error = None
            outbox.made_due(session, row)
        rows.append(row)
    return rows


def build(delivery: Delivery, referral: Referral, config: Config
          ) -> tuple[WebhookRequest | None, MailRequest | None, SendResult | None]:
    partner = referral.partner
    if delivery.channel == DeliveryChannel.WEBHOOK:
        if not partner.webhook_active:
            return None, None, SendResult(ok=False, permanent=True,
                                          error="webhook no longer configured or disabled")
        body = json.dumps({"type": EVENT, "timestamp": utcnow().isoformat(),
                           "data": {"referral_id": referral.id, "partner": partner.code,
                                    "notice": TEXT, "inbox_url": inbox_url(referral, config)}},
                          ensure_ascii=False, separators=(",", ":")).encode()
        headers = signing.headers(partner.webhook_secret, delivery.message_id,
                                  int(utcnow().timestamp()), body)
        return WebhookRequest(url=partner.webhook_url, body=body, headers=headers), None, None
    if delivery.channel == DeliveryChannel.EMAIL:
        if not partner.email:
            return None, None, SendResult(ok=False, permanent=True, error="partner has no e-mail")
        message = EmailMessage()
        message["From"] = config.smtp_from
        message["To"] = partner.email
        message["Subject"] = (f"【利用停止】つなぎ No. {referral.id} "
                              "のご本人の情報の利用を停止してください")
        message["Date"] = mail_date(utcnow())
        message["Message-ID"] = f"<{delivery.message_id}@{mail_domain(config)}>"
        message.set_content(f"{partner.name} ご担当者様\n\n"
                            f"つなぎ No. {referral.id} について、{TEXT}\n\n"
                            f"{inbox_url(referral, config)}\n\n"
                            "このメールには相談者の個人情報は含まれていません。\n")
        return None, MailRequest(to=partner.email, message=message), None
    return None, None, SendResult(ok=False, permanent=True,
                                  error=f"no notice for channel {delivery.channel!r}")
