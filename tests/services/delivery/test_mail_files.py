"""Mail on the embedded default: without SMTP_HOST each message is an .eml file, one per message."""

import email.policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from sqlalchemy import select

from caseapp.models import Partner, Referral
from caseapp.services.delivery import gateways
from caseapp.services.delivery.gateways import (
    FileMailGateway,
    Gateways,
    MailRequest,
    RecordingWebhookGateway,
    SmtpMailGateway,
)
from tests.helpers import EXAMPLE
from tests.services.delivery.helpers import run_due


@pytest.fixture
def config(app):
    return app.config["CASEAPP"]


def parse(path) -> EmailMessage:
    return BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())


def test_each_message_is_one_standard_file_and_a_retry_rewrites_it(tmp_path):
    gateway = FileMailGateway(tmp_path / "mail")
    message = EmailMessage()
    message["From"], message["To"] = "caseapp@localhost", "houkatsu@example.jp"
    message["Subject"] = "【つなぎ】新しい紹介が届いています（No. 7）"
    message["Message-ID"] = "<msg_abc@localhost>"
    message.set_content("地域包括支援センター ご担当者様\n\nhttp://caseapp.test/ack\n")
    assert gateway.send(MailRequest(to="houkatsu@example.jp", message=message)).ok
    assert gateway.send(MailRequest(to="houkatsu@example.jp", message=message)).ok
    [written] = (tmp_path / "mail").iterdir()
    assert written.name == "msg_abc_localhost.eml"
    raw = written.read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.isascii()  # RFC 5322 headers, the Japanese subject RFC 2047-encoded
    assert "地域包括支援センター".encode() in body  # UTF-8 text a person can read as it is
    parsed = parse(written)
    assert parsed["Subject"] == message["Subject"] and parsed["Date"] is not None
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().splitlines() == message.get_content().splitlines()


def test_a_message_without_an_id_gets_one(tmp_path):
    message = EmailMessage()
    message["To"], message["Subject"] = "a@example.jp", "確認"
    message.set_content("本文")
    FileMailGateway(tmp_path).send(MailRequest(to="a@example.jp", message=message))
    FileMailGateway(tmp_path).send(MailRequest(to="a@example.jp", message=EmailMessage()))
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2 and all(parse(f)["Message-ID"] for f in files)


def test_the_app_writes_files_without_smtp_and_sends_with_it(config, tmp_path):
    embedded = config.with_(instance_path=tmp_path, smtp_host=None)
    assert embedded.mail_folder == tmp_path / "mail"
    assert isinstance(gateways.mail_gateway(embedded), FileMailGateway)
    relay = config.with_(smtp_host="127.0.0.1")
    assert relay.mail_folder is None
    assert isinstance(gateways.mail_gateway(relay), SmtpMailGateway)


def test_a_partner_with_an_address_gets_its_notice_as_a_file_on_the_embedded_default(
        app, api, anon, session, config, monkeypatch, tmp_path):
    embedded = config.with_(instance_path=tmp_path, smtp_host=None)
    monkeypatch.setitem(app.config, "CASEAPP", embedded)
    partner = session.scalar(select(Partner).where(Partner.code == "houkatsu"))
    partner.email = "houkatsu@example.jp"
    session.commit()
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    referral = session.scalar(select(Referral).where(
        Referral.consultation_id == created["id"], Referral.partner_id == partner.id))
    assert [d.channel for d in referral.deliveries] == ["email"]
    gw = Gateways(RecordingWebhookGateway(), gateways.mail_gateway(embedded))
    run_due(session, embedded, gw)
    [written] = (tmp_path / "mail").glob("*.eml")
    message = parse(written)
    assert message["To"] == "houkatsu@example.jp"
    assert message["Message-ID"] == f"<{referral.deliveries[0].message_id}@localhost>"
    text = message.get_content()
    assert "新しい紹介" in message["Subject"] and "ご担当者様" in text
    assert f"http://caseapp.test/api/v1/partner/referrals/{referral.id}" in text
    for detail in ("山田", "ヤマダ", "1952", "年金"):
        assert detail not in text and detail not in message["Subject"]
    session.refresh(referral)
    assert referral.status == "sent"
    link = next(line for line in text.splitlines() if "/api/v1/ack/" in line)
    assert anon.post(link.removeprefix("http://caseapp.test")).json["status"] == "received"


def test_caseapp_up_says_where_mail_goes(config, tmp_path):
    from caseapp.cli import _mail_line

    assert str(tmp_path / "mail") in _mail_line(config.with_(instance_path=tmp_path,
                                                             smtp_host=None))
    assert _mail_line(config.with_(smtp_host="relay.example.jp", smtp_port=587)) == \
        "mail: SMTP relay.example.jp:587"
