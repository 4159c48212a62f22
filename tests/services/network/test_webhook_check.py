"""The partner webhook test send: signed, no personal data, answered in Japanese, audited,
and never to an address the deployment may not call."""

import json

import pytest
from sqlalchemy import select

from caseapp.domain import signing
from caseapp.models import AuditEntry, Partner
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid
from caseapp.services.delivery.gateways import (
    HttpWebhookGateway,
    RecordingWebhookGateway,
    SendResult,
)
from caseapp.services.network import webhook_check
from tests.conftest import make_config

ADMIN = Actor(user_id=None, name="yamamoto", role="admin")


@pytest.fixture
def config(app):
    return app.config["CASEAPP"]


def _with_webhook(session, url="https://hooks.example.jp/caseapp"):
    partner = session.scalar(select(Partner).where(Partner.code == "jiritsu"))
    partner.webhook_url, partner.webhook_secret = url, signing.generate_secret()
    session.commit()
    return partner


def test_the_test_message_is_signed_and_carries_nothing_personal(seeded, config):
    partner = _with_webhook(seeded)
    gateway = RecordingWebhookGateway()
    answer = webhook_check.send_test(seeded, ADMIN, "jiritsu", gateway, config)
    assert answer.ok and answer.status_code == 204 and "受け取られました" in answer.message
    sent = gateway.sent[0]
    body = json.loads(sent.body)
    assert body["type"] == "caseapp.test" and set(body) == {"type", "partner", "sent_at",
                                                            "message"}
    headers = sent.headers
    assert headers["webhook-signature"] == signing.sign(
        partner.webhook_secret, headers["webhook-id"], int(headers["webhook-timestamp"]),
        sent.body)
    entry = seeded.scalar(select(AuditEntry).where(AuditEntry.action == "webhook_test"))
    assert entry.resource_id == "jiritsu" and entry.outcome == "success"


@pytest.mark.parametrize(("result", "words"), [
    (SendResult(ok=False, status_code=401, error="HTTP 401"), "署名鍵"),
    (SendResult(ok=False, status_code=302, error="HTTP 302"), "転送の指示"),
    (SendResult(ok=False, status_code=410, error="410 Gone", gone=True), "HTTP 410"),
    (SendResult(ok=False, error="timeout: ReadTimeout"), "タイムアウト"),
    (SendResult(ok=False, error="ConnectError: [Errno 111] Connection refused"), "接続できません"),
])
def test_each_failure_is_explained_in_japanese(seeded, config, result, words):
    partner = _with_webhook(seeded)
    answer = webhook_check.send_test(seeded, ADMIN, "jiritsu",
                                     RecordingWebhookGateway(responses=[result]), config)
    assert not answer.ok and words in answer.message
    seeded.refresh(partner)
    assert partner.webhook_disabled_at is None  # a test never disables the webhook


def test_a_loopback_address_is_refused_before_anything_is_sent(seeded, tmp_path, sink):
    strict = make_config("sqlite://", tmp_path, webhook_allow_private=False)
    _with_webhook(seeded, sink.url)
    with pytest.raises(Invalid) as refused:
        webhook_check.send_test(seeded, ADMIN, "jiritsu", HttpWebhookGateway(strict), strict)
    assert "webhook_url" in refused.value.errors
    assert sink.received == []
