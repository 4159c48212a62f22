"""Delivery through the outbox in-process, on SQLite and PostgreSQL, to real local servers."""

import json
import threading
from datetime import timedelta

import pytest
import standardwebhooks
from sqlalchemy import func, select, update

from caseapp.extensions import db
from caseapp.models import Delivery, DeliveryAttempt, Disclosure, Partner, StaffAlert
from caseapp.models.types import utcnow
from caseapp.services.delivery import gateways, outbox
from caseapp.services.delivery.gateways import (
    Gateways,
    HttpWebhookGateway,
    RecordingMailGateway,
    RecordingWebhookGateway,
)
from caseapp.services.referrals import sending
from tests.helpers import EXAMPLE, assert_problem
from tests.http_sink import SilentServer
from tests.services.delivery.helpers import ELDER, hook, make_due, referral_to, run_due


@pytest.fixture
def real(config):
    found = Gateways(HttpWebhookGateway(config), RecordingMailGateway())
    yield found
    found.webhook.close()


def test_webhook_carries_a_signed_referral_with_only_the_needed_fields(api, session, sink, real,
                                                                       config):
    partner = hook(session, "houkatsu", sink.url)
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    run_due(session, config, real)
    assert len(sink.received) == 1
    got = sink.received[0]
    payload = standardwebhooks.Webhook(partner.webhook_secret).verify(got.body, got.headers)
    referral = referral_to(session, created["id"], "houkatsu")
    assert payload["type"] == "referral.requested"
    data = payload["data"]
    assert data["referral_id"] == referral.id and data["partner"] == "houkatsu"
    assert data["client"]["name"] == "山田 太郎" and data["topics"] == ["debt", "income_living"]
    assert data["inbox_url"].endswith(f"/api/v1/partner/referrals/{referral.id}")
    # Income and debts are for the counter's own routing, not for the partner.
    assert b"monthly_income" not in got.body and "A社".encode() not in got.body
    delivery = referral.deliveries[0]
    assert got.headers["webhook-id"] == delivery.message_id
    assert referral.status == "sent" and delivery.state == "delivered"
    disclosure = session.scalar(select(Disclosure).where(Disclosure.delivery_id == delivery.id))
    assert disclosure.partner_id == partner.id and disclosure.channel == "webhook"
    assert disclosure.basis.startswith("consent:") and disclosure.actor_label == "counter-1"
    assert "client.name" in disclosure.fields and "summary" in disclosure.fields
    # What the partner's view leaves at the counter stays there on every channel.
    assert "client.birth_date" not in disclosure.fields and b"birth_date" not in got.body
    assert "case_id" not in data and "district" not in json.dumps(data)
    assert "id" not in data["client"]


def test_500_is_retried_with_one_webhook_id_then_fails_alerts_and_can_be_retried(
        api, session, sink, real, config, tokens):
    hook(session, "houkatsu", sink.url)
    sink.respond = lambda _r, _n: (500, {})
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    referral = referral_to(session, created["id"], "houkatsu")
    for _ in range(len(config.retry_delays) + 1):
        run_due(session, config, real)
        make_due(session)
    session.refresh(referral)
    delivery = referral.deliveries[0]
    assert referral.status == "failed" and delivery.state == "failed"
    assert len(sink.received) == len(config.retry_delays) + 1
    assert set(sink.ids()) == {delivery.message_id}
    alert = session.scalar(select(StaffAlert).where(StaffAlert.kind == "referral_failed"))
    assert alert.referral_id == referral.id and alert.user_id == referral.case.owner_id

    shown = api.get(f"/api/v1/referrals/{referral.id}").json
    attempts = shown["deliveries"][0]["attempts"]
    assert [a["status_code"] for a in attempts] == [500] * len(sink.received)
    assert all(a["error"] == "HTTP 500" and a["duration_ms"] >= 0 for a in attempts)
    assert shown["history"][-1]["to_status"] == "failed"

    # Staff see the alert, fix nothing on our side, and send it again once the partner is up.
    listed = api.get("/api/v1/alerts").json
    assert [a["kind"] for a in listed["items"]] == ["referral_failed"]
    sink.respond = lambda _r, _n: (200, {})
    again = api.post(f"/api/v1/referrals/{referral.id}/retry")
    assert again.status_code == 200, again.json
    assert again.json["status"] == "requested"
    run_due(session, config, real)
    session.refresh(referral)
    assert referral.status == "sent"
    assert set(sink.ids()) == {delivery.message_id}  # the same id, never a second referral
    assert_problem(api.post(f"/api/v1/referrals/{referral.id}/retry"), 409)


def test_503_with_retry_after_waits_as_asked(api, session, sink, real, config):
    hook(session, "houkatsu", sink.url)
    sink.respond = lambda _r, _n: (503, {"Retry-After": "300"})
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    before = utcnow()
    run_due(session, config, real)
    delivery = referral_to(session, created["id"], "houkatsu").deliveries[0]
    session.refresh(delivery)
    assert delivery.state == "pending" and delivery.attempts == 1
    # The schedule says ~1 s; the partner asked for 300.
    assert delivery.next_attempt_at - before >= timedelta(seconds=299)
    assert run_due(session, config, real) == []  # not due yet: nothing is sent early


def test_410_disables_the_endpoint_alerts_admins_and_retry_uses_the_inbox(
        api, session, sink, real, config, tokens):
    partner = hook(session, "houkatsu", sink.url)
    sink.respond = lambda _r, _n: (410, {})
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    run_due(session, config, real)
    referral = referral_to(session, created["id"], "houkatsu")
    session.refresh(partner)
    assert len(sink.received) == 1  # no retry against a Gone endpoint
    assert partner.webhook_disabled_at is not None and partner.channels() == ["inbox"]
    assert referral.status == "failed"
    kinds = {(a.kind, a.role) for a in session.scalars(select(StaffAlert))}
    assert ("webhook_disabled", "admin") in kinds
    admin_view = api.as_(tokens["admin"]).get("/api/v1/alerts").json["items"]
    assert any(a["kind"] == "webhook_disabled" and a["partner"] == "houkatsu"
               for a in admin_view)
    assert all(a["kind"] != "webhook_disabled" for a in api.get("/api/v1/alerts").json["items"])
    assert api.post(f"/api/v1/referrals/{referral.id}/retry").status_code == 200
    run_due(session, config, real)
    session.refresh(referral)
    assert referral.status == "sent" and len(sink.received) == 1
    assert {d.channel: d.state for d in referral.deliveries} == {"webhook": "failed",
                                                                 "inbox": "delivered"}


def test_a_hanging_partner_times_out_and_is_retried(api, session, config):
    server = SilentServer("hang")
    short = config.with_(webhook_timeout=1.0, webhook_connect_timeout=0.5)
    gw = Gateways(HttpWebhookGateway(short), RecordingMailGateway())
    try:
        hook(session, "houkatsu", server.url)
        created = api.post("/api/v1/consultations", json=EXAMPLE).json
        run_due(session, short, gw)
    finally:
        server.close()
        gw.webhook.close()
    delivery = referral_to(session, created["id"], "houkatsu").deliveries[0]
    session.refresh(delivery)
    attempt = delivery.attempt_rows[0]
    assert delivery.state == "pending" and "timeout" in attempt.error
    assert 900 <= attempt.duration_ms < 3000 and attempt.status_code is None


@pytest.mark.real_commits  # five threads, five connections
def test_the_same_delivery_fired_five_times_at_once_is_sent_once(app, api, session, sink,
                                                                 real, config):
    hook(session, "houkatsu", sink.url)
    sink.delay = 0.3  # a slow partner widens the window for a double send
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    delivery_id = referral_to(session, created["id"], "houkatsu").deliveries[0].id
    session.commit()
    barrier, results = threading.Barrier(5), []

    def fire():
        with app.app_context():
            barrier.wait()
            results.append(sending.process(db.session, delivery_id, config, real))
            db.session.remove()

    threads = [threading.Thread(target=fire) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["delivered"] + ["skipped"] * 4
    assert len(sink.received) == 1
    assert session.scalar(select(func.count()).select_from(DeliveryAttempt)
                          .where(DeliveryAttempt.delivery_id == delivery_id)) == 1


def test_a_worker_lost_mid_send_is_recovered_by_the_sweeper(api, session, config):
    created = api.post("/api/v1/consultations", json=ELDER | {"consent": EXAMPLE["consent"]}).json
    delivery = session.scalar(select(Delivery).limit(1))
    assert outbox.claim(session, delivery.id, utcnow(), config.delivery_lease_seconds)
    # The worker died here. While the lease runs nothing else may touch the row...
    assert outbox.claim(session, delivery.id, utcnow(), 60) is None
    assert delivery.id not in sending.sweep(session, config)
    # ...and once it has run out, the sweeper hands the row out again.
    later = utcnow() + timedelta(seconds=config.delivery_lease_seconds + 1)
    sent = sending.sweep(session, config, now=later)
    session.refresh(delivery)
    assert delivery.state == "pending" and delivery.id in sent
    assert delivery.attempt_rows[-1].error.startswith("lease expired")
    # A row just handed to the broker is not handed again on the next sweep.
    assert delivery.id not in sending.sweep(session, config, now=later)
    assert created["id"]


def test_enqueue_failure_does_not_fail_intake_and_stops_early(app, api, session, monkeypatch):
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise ConnectionError("broker down")

    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    monkeypatch.setattr(app.extensions["celery"], "send_task", broken)
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert response.status_code == 201
    assert len(calls) == 1  # one failure is enough to leave the rest to the sweeper
    assert session.scalar(select(func.count()).select_from(Delivery)
                          .where(Delivery.state == "pending")) >= 2


def test_an_intake_hands_its_rows_over_in_one_message_and_a_sweep_in_tens(
        app, api, session, config, monkeypatch):
    messages = []
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    monkeypatch.setattr(app.extensions["celery"], "send_task",
                        lambda task, args, **_kw: messages.append((task, args)))
    api.post("/api/v1/consultations", json=EXAMPLE)
    api.post("/api/v1/consultations", json=ELDER | {"consent": EXAMPLE["consent"]})
    ids = _pending_ids(session)
    assert len(ids) >= 3
    # One message per committed intake, carrying every row it wrote.
    assert [task for task, _args in messages] == [outbox.DELIVER_TASK] * 2
    assert sorted(i for _task, args in messages for i in args) == ids
    messages.clear()

    sent = outbox.hint(outbox.DELIVER_TASK, list(range(1, 26)), per_message=outbox.BATCH)
    assert sent == list(range(1, 26))
    assert [args for _task, args in messages] == [tuple(range(1, 11)), tuple(range(11, 21)),
                                                  tuple(range(21, 26))]

    # The broker fails on the second message: the first message's ids were taken, no more.
    messages.clear()

    def second_fails(task, args, **_kw):
        if messages:
            raise ConnectionError("broker down")
        messages.append((task, args))

    monkeypatch.setattr(app.extensions["celery"], "send_task", second_fails)
    assert outbox.hint(outbox.DELIVER_TASK, list(range(1, 26)),
                       per_message=outbox.BATCH) == list(range(1, 11))


def test_a_task_hinted_several_rows_takes_them_before_any_other_due_row(
        api, session, sink, real, config):
    _hook_all(session, sink.url)
    api.post("/api/v1/consultations", json=EXAMPLE)
    api.post("/api/v1/consultations", json=ELDER | {"consent": EXAMPLE["consent"]})
    ids = _pending_ids(session)
    assert len(ids) >= 4
    hinted = ids[-2:]  # the newest: the oldest would be taken first as "other due rows"
    outcomes = sending.process_many(session, hinted, config, real, limit=2)
    assert set(outcomes) == set(hinted)
    states = dict(session.execute(select(Delivery.id, Delivery.state)
                                  .where(Delivery.id.in_(ids))).all())
    assert all(states[i] != "pending" for i in hinted)
    assert all(states[i] == "pending" for i in ids[:-2])
    # With room left, the batch fills up with the oldest due rows.
    outcomes = sending.process_many(session, [ids[-3]], config, real, limit=2)
    assert set(outcomes) == {ids[-3], ids[0]}


def test_a_message_whose_rows_are_all_taken_counts_each_as_skipped(app, api, session):
    from prometheus_client import REGISTRY

    api.post("/api/v1/consultations", json=EXAMPLE)
    ids = _pending_ids(session)
    assert len(ids) >= 2
    session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(state="in_flight"))
    session.commit()

    def skipped():
        return REGISTRY.get_sample_value("caseapp_delivery_attempts_total",
                                         {"outcome": "skipped"}) or 0.0

    before = skipped()
    assert app.extensions["celery"].tasks[outbox.DELIVER_TASK](*ids) == "skipped"
    assert skipped() - before == len(ids)


def test_email_carries_a_notice_and_a_link_never_the_clients_details(app, api, session, config,
                                                                    monkeypatch):
    smtp = config.with_(smtp_host="127.0.0.1", smtp_port=2525)
    monkeypatch.setitem(app.config, "CASEAPP", smtp)
    partner = session.scalar(select(Partner).where(Partner.code == "houkatsu"))
    partner.email = "houkatsu@example.jp"
    session.commit()
    mail = RecordingMailGateway(responses=[gateways.SendResult(ok=False, status_code=451,
                                                               error="SMTP 451")])
    gw = Gateways(RecordingWebhookGateway(), mail)
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    referral = referral_to(session, created["id"], "houkatsu")
    assert [d.channel for d in referral.deliveries] == ["email"]
    run_due(session, smtp, gw)
    make_due(session)
    run_due(session, smtp, gw)
    assert len(mail.sent) == 2
    first, second = (m.message for m in mail.sent)
    assert first["Message-ID"] == second["Message-ID"] == \
        f"<{referral.deliveries[0].message_id}@localhost>"
    text = second.get_content()
    assert f"/api/v1/partner/referrals/{referral.id}" in text
    for detail in ("山田", "ヤマダ", "1952", "年金"):
        assert detail not in text and detail not in second["Subject"]
    session.refresh(referral)
    assert referral.status == "sent"
    # The no-login link in the notice marks the referral received for the partner.
    link = next(line for line in text.splitlines() if "/api/v1/ack/" in line)
    token = link.rsplit("/", 1)[1]
    used = api.client.post(f"/api/v1/ack/{token}")
    assert used.status_code == 200, used.get_json()
    session.refresh(referral)
    assert referral.status == "received"


def test_alert_mail_goes_once_to_the_recipients(session, config, tokens):
    from caseapp.models import User
    from caseapp.services.casework import alerts

    smtp = config.with_(smtp_host="127.0.0.1")
    admin = session.scalar(select(User).where(User.role == "admin"))
    admin.email = "admin@example.jp"
    session.commit()
    alerts.raise_alert(session, "webhook_disabled", "houkatsu の Webhook を停止しました",
                       config=smtp, role="admin")
    alerts.raise_alert(session, "referral_failed", "no address, no mail", config=smtp,
                       user_id=session.scalar(select(User.id).where(User.role == "counter")))
    session.commit()
    mail = RecordingMailGateway()
    assert alerts.mail_pending(session, mail, smtp) == 1
    assert alerts.mail_pending(session, mail, smtp) == 0  # a second sweep sends nothing
    assert [m.to for m in mail.sent] == ["admin@example.jp"]
    assert "停止" in mail.sent[0].message.get_content()
    states = {a.kind: a.mail_state for a in session.scalars(select(StaffAlert))}
    assert states == {"webhook_disabled": "sent", "referral_failed": "none"}


def _hook_all(session, url: str) -> None:
    for code in session.scalars(select(Partner.code)).all():
        hook(session, code, url)


def _pending_ids(session) -> list[int]:
    ids = list(session.scalars(select(Delivery.id).where(Delivery.state == "pending")
                               .order_by(Delivery.id)))
    session.commit()
    return ids


def test_a_task_takes_other_due_rows_with_its_own_and_their_hints_find_them_taken(
        api, session, sink, real, config):
    from caseapp.models import Consent

    _hook_all(session, sink.url)
    api.post("/api/v1/consultations", json=EXAMPLE)
    elder = api.post("/api/v1/consultations", json=ELDER | {"consent": EXAMPLE["consent"]}).json
    # The elder's consent runs out after the rows were written: checked at send time, in the
    # batch as alone.
    consent = session.scalar(select(Consent).where(Consent.client_id == elder["client_id"]))
    consent.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    ids = _pending_ids(session)
    held = {d.id for d in session.scalars(select(Delivery).join(Delivery.referral)
                                          .where(Delivery.referral.has(
                                              consultation_id=elder["id"])))}
    assert len(ids) >= 3 and held and set(ids) - held
    hinted = max(set(ids) - held)
    outcomes = sending.process_many(session, hinted, config, real)
    assert set(outcomes) == set(ids)
    assert {i for i, o in outcomes.items() if o == "held"} == held
    assert {i for i, o in outcomes.items() if o == "delivered"} == set(ids) - held
    # The other rows' own hints come later and find nothing to do.
    assert all(sending.process(session, i, config, real) == "skipped" for i in ids)
    rows = session.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()
    webhooks = [d for d in rows if d.channel == "webhook" and d.id not in held]
    assert sorted(sink.ids()) == sorted(d.message_id for d in webhooks)
    for row in rows:
        disclosures = session.scalars(select(Disclosure)
                                      .where(Disclosure.delivery_id == row.id)).all()
        if row.id in held:
            assert row.state == "held" and row.attempts == 1 and not row.attempt_rows
            assert disclosures == []
        else:
            assert row.state == "delivered" and len(row.attempt_rows) == 1
            assert row.referral.status == "sent"
            assert len(disclosures) == 1 and disclosures[0].fields
            if row.channel == "webhook":
                body = json.loads(next(r.body for r in sink.received
                                       if r.headers["webhook-id"] == row.message_id))
                assert body["data"]["referral_id"] == row.referral_id
                assert disclosures[0].basis == row.referral.legal_basis


def test_a_batch_whose_check_fails_leaves_the_others_due_and_records_the_bad_row_alone(
        api, session, sink, real, config, monkeypatch):
    _hook_all(session, sink.url)
    api.post("/api/v1/consultations", json=EXAMPLE)
    ids = _pending_ids(session)
    bad = ids[-1]
    real_prepare = sending.prepare

    def prepare(session, delivery, *args, **kwargs):
        if delivery.id == bad:
            raise RuntimeError("a bug in one row")
        return real_prepare(session, delivery, *args, **kwargs)

    monkeypatch.setattr(sending, "prepare", prepare)
    # Hinted at a good row: the batch is undone and only that row goes, on its own.
    assert sending.process_many(session, ids[0], config, real) == {ids[0]: "delivered"}
    rows = {d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
    assert all(rows[i].state == "pending" and rows[i].attempts == 0 for i in ids[1:])
    # Hinted at the bad row: its failure is an attempt like any other, with a retry ahead.
    assert sending.process_many(session, bad, config, real) == {bad: "retry"}
    session.refresh(rows[bad])
    assert rows[bad].state == "pending" and rows[bad].attempts == 1
    assert "a bug in one row" in rows[bad].attempt_rows[0].error
    assert len(sink.received) == 1


def test_a_batch_whose_record_fails_is_recorded_row_by_row(api, session, sink, real, config,
                                                           monkeypatch):
    _hook_all(session, sink.url)
    api.post("/api/v1/consultations", json=EXAMPLE)
    ids = _pending_ids(session)
    bad = ids[-1]
    real_record = sending._record

    def record(session, delivery, *args):
        if delivery.id == bad:
            raise RuntimeError("a bug in one row")
        return real_record(session, delivery, *args)

    monkeypatch.setattr(sending, "_record", record)
    sending.process_many(session, ids[0], config, real)
    rows = {d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
    assert all(rows[i].state == "delivered" and len(rows[i].attempt_rows) == 1
               for i in ids[:-1])
    # The bad row stays leased: when the lease runs out the sweeper hands it out again.
    assert rows[bad].state == "in_flight" and rows[bad].attempt_rows == []
    assert session.scalar(select(func.count()).select_from(Disclosure)) == len(ids) - 1


def test_a_batch_is_sent_side_by_side_so_one_slow_partner_holds_up_no_other(
        api, session, config):
    _hook_all(session, "https://partner.example/hook")
    api.post("/api/v1/consultations", json=EXAMPLE)
    api.post("/api/v1/consultations", json=ELDER | {"consent": EXAMPLE["consent"]})
    ids = _pending_ids(session)
    webhooks = session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.channel == "webhook"))
    assert webhooks >= 2
    # Each send waits until every webhook of the batch is being sent: one after another, the
    # first would wait for ever (here: until the barrier gives up).
    barrier = threading.Barrier(webhooks, timeout=20)

    class Together(RecordingWebhookGateway):
        def post(self, request):
            barrier.wait()
            return super().post(request)

    gw = Gateways(Together(), RecordingMailGateway())
    outcomes = sending.process_many(session, ids[0], config, gw)
    assert outcomes == {i: "delivered" for i in ids}
    assert len(gw.webhook.sent) == webhooks
