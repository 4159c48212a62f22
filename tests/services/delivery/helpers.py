"""Helpers for delivery tests: a partner pointed at a sink, running due deliveries in-process."""

from datetime import timedelta

from sqlalchemy import select, update

from caseapp.domain import signing
from caseapp.models import Delivery, Partner, Referral
from caseapp.models.types import utcnow
from caseapp.services.delivery.gateways import (
    Gateways,
    RecordingMailGateway,
    RecordingWebhookGateway,
)
from caseapp.services.referrals import sending

ELDER = {
    "client": {"name": "高知 花子", "name_kana": "コウチ ハナコ", "birth_date": "1940-05-05",
               "phone": "088-123-4567"},
    "channel": "window",
    "topics": ["elder_care"],
    "summary": "母の介護で眠れない",
    "facts": {"age": 86, "monthly_income": 90000},
}
CONSENT = {"scope": "network", "method": "written", "given_at": "2026-01-05T10:00:00+09:00"}


def hook(session, code: str, url: str, secret: str | None = None) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.code == code))
    partner.webhook_url = url
    partner.webhook_secret = secret or signing.generate_secret()
    session.commit()
    return partner


def referral_to(session, consultation_id: int, code: str) -> Referral:
    return session.scalar(select(Referral).join(Partner, Referral.partner_id == Partner.id)
                          .where(Referral.consultation_id == consultation_id,
                                 Partner.code == code))


def make_due(session) -> None:
    """Time passes: every pending row is due now."""
    session.execute(update(Delivery).where(Delivery.state == "pending")
                    .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    session.commit()


def recording() -> Gateways:
    """Gateways that keep what they would send and send nothing."""
    return Gateways(RecordingWebhookGateway(), RecordingMailGateway())


def run_due(session, config, gateways: Gateways | None = None) -> list[str]:
    """What the worker does with each due outbox row; by default nothing leaves the process."""
    gateways = gateways or recording()
    ids = list(session.scalars(select(Delivery.id).where(
        Delivery.state == "pending", Delivery.next_attempt_at <= utcnow()).order_by(Delivery.id)))
    session.commit()
    return [sending.process(session, i, config, gateways) for i in ids]
