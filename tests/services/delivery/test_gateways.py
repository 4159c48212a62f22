"""The webhook channel against real sockets on 127.0.0.1: signatures, limits, refusals."""

import json
import socket
import time

import pytest
import standardwebhooks

from caseapp.config import Config
from caseapp.domain import signing
from caseapp.services.delivery import netguard
from caseapp.services.delivery.gateways import HttpWebhookGateway, WebhookRequest, parse_retry_after
from tests.http_sink import SilentServer, Sink


def gateway(**changes) -> HttpWebhookGateway:
    base = dict(webhook_allow_private=True, webhook_timeout=30.0, webhook_connect_timeout=5.0)
    base.update(changes)
    return HttpWebhookGateway(Config(**base))


def signed(url: str, secret: str, body: bytes = b'{"type":"referral.requested","data":{}}'):
    return WebhookRequest(url, body, signing.headers(secret, "msg_abc", int(time.time()), body))


def test_signature_verifies_with_the_standard_webhooks_library(sink):
    secret = signing.generate_secret()
    body = json.dumps({"type": "referral.requested", "data": {"name": "山田 太郎"}},
                      ensure_ascii=False).encode()
    assert gateway().post(signed(sink.url, secret, body)).ok
    got = sink.received[0]
    # An implementation written by others, from the spec, accepts what we sent...
    payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
    assert payload["data"]["name"] == "山田 太郎"
    assert got.headers["webhook-id"] == "msg_abc"
    # ...and refuses it when a byte of the body, or the key, differs.
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(got.body.replace("山田".encode(), "田中".encode()),
                                                got.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing.generate_secret()).verify(got.body, got.headers)


def test_signing_matches_the_spec_example():
    # The example from the Standard Webhooks specification's reference implementations.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_checked():
    assert signing.secret_problem(signing.generate_secret()) is None
    assert signing.secret_problem("abc")
    assert signing.secret_problem("whsec_not base64!")
    assert signing.secret_problem("whsec_c2hvcnQ=")  # 5 bytes: too short


def test_only_2xx_is_success_and_redirects_are_not_followed(sink):
    target = Sink()
    try:
        sink.respond = lambda _r, _n: (307, {"Location": target.url})
        result = gateway().post(signed(sink.url, signing.generate_secret()))
        assert not result.ok and result.status_code == 307 and not result.permanent
        assert "redirect" in result.error
        assert target.received == []
    finally:
        target.close()


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (404, False), (410, True)])
def test_error_statuses(sink, status, permanent):
    sink.respond = lambda _r, _n: (status, {})
    result = gateway().post(signed(sink.url, signing.generate_secret()))
    assert (result.ok, result.status_code, result.permanent, result.gone) == \
        (False, status, permanent, status == 410)


def test_retry_after_is_read_in_seconds_and_as_a_date(sink):
    sink.respond = lambda _r, _n: (503, {"Retry-After": "120"})
    assert gateway().post(signed(sink.url, signing.generate_secret())).retry_after == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60
    assert parse_retry_after("9999999") == 24 * 3600  # capped: a partner cannot park us for years
    assert parse_retry_after("soon") is None


def timed_post(server):
    """A post with a one-second limit to a server that stalls: (result, seconds taken)."""
    try:
        started = time.monotonic()
        result = gateway(webhook_timeout=1.0).post(signed(server.url, signing.generate_secret()))
        return result, time.monotonic() - started
    finally:
        server.close()


def test_a_hanging_partner_is_cut_at_the_total_time_limit():
    result, elapsed = timed_post(SilentServer("hang"))
    assert not result.ok and not result.permanent and "timeout" in result.error
    assert 0.9 <= elapsed < 3


def test_a_trickling_partner_cannot_stretch_the_time_limit():
    # A byte every 0.2 s never trips a per-read timeout; the total limit still holds.
    result, elapsed = timed_post(SilentServer("trickle", interval=0.2))
    assert not result.ok and "timeout" in result.error
    assert elapsed < 3


def test_loopback_is_refused_after_dns_resolution(sink, monkeypatch):
    real = socket.getaddrinfo
    port = sink.server.server_address[1]

    def fake(host, *args, **kwargs):
        if host == "partner.example":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(netguard.socket, "getaddrinfo", fake)
    # A public-looking name that resolves to loopback: refused before any connection.
    result = gateway(webhook_allow_private=False).post(
        signed("https://partner.example/hook", signing.generate_secret()))
    assert not result.ok and result.permanent and "refused" in result.error
    # Allowed (tests, demos): the socket goes to the address that was resolved and checked,
    # while the request still names the host.
    result = gateway().post(signed(f"http://partner.example:{port}/hook",
                                   signing.generate_secret()))
    assert result.ok
    assert sink.received[-1].headers["host"] == f"partner.example:{port}"


@pytest.mark.parametrize("url", [
    "http://partner.example/hook", "ftp://partner.example/", "https://127.0.0.1/hook",
    "https://10.1.2.3/hook", "https://[::1]/hook", "https://169.254.169.254/latest",
    "https://localhost/hook", "https://user:pw@partner.example/hook", "https:///nohost",
])
def test_webhook_urls_refused_in_production(url):
    assert netguard.url_problems(url, allow_private=False)


def test_webhook_urls_accepted():
    assert netguard.url_problems("https://partner.example/hooks/caseapp", False) == []
    assert netguard.url_problems("http://127.0.0.1:9000/hook", True) == []
    assert netguard.address_allowed("::ffff:127.0.0.1", False) is False
    assert netguard.address_allowed("93.184.216.34", False) is True
