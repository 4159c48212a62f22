"""Chaos: real worker processes (with embedded beat), a real broker, a real HTTP sink and SMTP.

Each test breaks something the way production breaks (a SIGKILLed worker, Redis going away,
a crash between commit and enqueue, duplicate task messages) and checks that every referral
still arrives, with one webhook-id per referral delivery.
"""

import pytest
from sqlalchemy import select, update

from caseapp import create_app
from caseapp.domain import signing
from caseapp.extensions import db
from caseapp.models import Consultation, Delivery, Partner, Referral
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.delivery import outbox
from caseapp.services.intake import consultations
from tests.conftest import Api, make_config
from tests.helpers import EXAMPLE, wait_for
from tests.http_sink import Sink
from tests.tasks.conftest import WorkerProcess, worker_env

# The workers' rows must be seen by the worker processes.
pytestmark = pytest.mark.real_commits

# Short leases and retries keep the tests quick; enough retries that a sink slowed by a busy
# CI machine does not exhaust a delivery the test expects to arrive.
FAST = {"CASEAPP_SWEEP_SECONDS": "0.5", "CASEAPP_WEBHOOK_TIMEOUT": "2",
        "CASEAPP_RETRY_DELAYS": "1,1,1,1,1,1,1,1"}


@pytest.fixture(scope="session")
def delivery_app(app, database_url, broker, worker_instance, smtp_server):
    """The API side: the test database, the test broker, and the SMTP server configured."""
    controller, _ = smtp_server
    return create_app(make_config(database_url, worker_instance, broker_url=broker,
                                  smtp_host="127.0.0.1", smtp_port=controller.port))


@pytest.fixture
def workers(database_url, worker_instance, smtp_server, seeded, tmp_path):
    """Start workers (each with an embedded beat sweeping every 0.5 s) on a given broker."""
    controller, _ = smtp_server
    started = []

    def start(broker_url: str, concurrency: int = 2) -> WorkerProcess:
        env = worker_env(database_url, broker_url, worker_instance)
        env.update(FAST, SMTP_HOST="127.0.0.1", SMTP_PORT=str(controller.port))
        process = WorkerProcess(env, (f"--concurrency={concurrency}", "--beat",
                                      f"--schedule={tmp_path / f'beat-{len(started)}'}"),
                                ledger=tmp_path / f"ledger-{len(started)}.jsonl")
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()


def hook_all(app, url: str) -> dict[str, str]:
    """Every partner gets a webhook to the sink; returns code -> secret."""
    with app.app_context():
        secrets = {}
        for partner in db.session.scalars(select(Partner)):
            partner.webhook_url = url
            partner.webhook_secret = secrets[partner.code] = signing.generate_secret()
        db.session.commit()
        db.session.remove()
        return secrets


def delivery_states(app) -> dict[int, tuple[str, str, str]]:
    """referral id -> (referral status, delivery state, message id) for webhook rows."""
    with app.app_context():
        rows = db.session.execute(select(Referral.id, Referral.status, Delivery.state,
                                         Delivery.message_id)
                                  .join(Delivery, Delivery.referral_id == Referral.id)
                                  .where(Delivery.channel == "webhook")).all()
        db.session.remove()
    return {r.id: (r.status, r.state, r.message_id) for r in rows}


def all_delivered(app):
    states = delivery_states(app)
    return states if states and all(s[1] == "delivered" for s in states.values()) else None


def wait_delivered(app, timeout: float):
    return wait_for(lambda: all_delivered(app), timeout,
                    lambda: f"not all delivered: {delivery_states(app)}")


def unfinished_rows(app) -> list[tuple[int, str, str]]:
    """(id, channel, state) of every outbox row a sweep could still send: the others have
    ended (failed rows go out again only when staff retry them)."""
    with app.app_context():
        ended = ("delivered", "cancelled", "failed")
        rows = db.session.execute(select(Delivery.id, Delivery.channel, Delivery.state)
                                  .where(Delivery.state.not_in(ended))).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def ids_per_referral(sink: Sink) -> dict[int, set[str]]:
    import json

    found: dict[int, set[str]] = {}
    for got in sink.received:
        referral_id = json.loads(got.body)["data"]["referral_id"]
        found.setdefault(referral_id, set()).add(got.headers["webhook-id"])
    return found


def test_sigkill_mid_delivery_loses_nothing(delivery_app, broker, workers, sink, tokens):
    hook_all(delivery_app, sink.url)
    sink.delay = 0.4  # slow enough that deliveries are in flight when the worker dies
    api = Api(delivery_app.test_client(), tokens["counter"])
    first = workers(broker)
    for _ in range(4):
        assert api.post("/api/v1/consultations", json=EXAMPLE).status_code == 201
    wait_for(lambda: len(sink.received) >= 2, timeout=60)
    first.kill()  # SIGKILL to the whole process group: no warm shutdown, no acks
    in_flight = sum(1 for s in delivery_states(delivery_app).values() if s[1] == "in_flight")
    workers(broker)
    states = wait_delivered(delivery_app, 120)
    seen = ids_per_referral(sink)
    assert set(seen) == set(states)
    for referral_id, (status, _state, message_id) in states.items():
        assert status == "sent"
        assert seen[referral_id] == {message_id}  # one webhook-id per referral, ever
    duplicates = len(sink.received) - len(states)
    print(f"\nSIGKILL: {len(states)} deliveries, {in_flight} in flight at the kill, "
          f"{duplicates} re-sent with the same webhook-id")


def test_crash_between_commit_and_enqueue_is_swept_and_a_rollback_sends_nothing(
        delivery_app, broker, workers, sink, tokens, monkeypatch):
    hook_all(delivery_app, sink.url)
    api = Api(delivery_app.test_client(), tokens["counter"])
    # A rolled-back intake: the last write of the transaction fails.
    real_record = audit.record

    def failing(session, actor, action, resource_type, *args, **kwargs):
        if resource_type == "consultation":
            raise RuntimeError("disk full")
        return real_record(session, actor, action, resource_type, *args, **kwargs)

    monkeypatch.setattr(consultations.audit, "record", failing)
    assert api.post("/api/v1/consultations", json=EXAMPLE).status_code == 500
    monkeypatch.undo()
    # A crash right after commit: the rows are there, no hint ever reaches the broker.
    monkeypatch.setattr(outbox, "enqueue", lambda ids: [])
    created = api.post("/api/v1/consultations", json=EXAMPLE)
    assert created.status_code == 201
    monkeypatch.undo()
    workers(broker)
    states = wait_delivered(delivery_app, 60)
    with delivery_app.app_context():
        referrals = db.session.scalars(select(Referral)).all()
        assert {r.consultation_id for r in referrals} == {created.json["id"]}
        # The rolled-back intake left nothing a sweep could find ...
        assert db.session.scalars(select(Consultation.id)).all() == [created.json["id"]]
        db.session.remove()
    # ... and once every row there is has ended, no later sweep can send anything more.
    wait_for(lambda: not unfinished_rows(delivery_app), 60,
             lambda: f"rows not ended: {unfinished_rows(delivery_app)}")
    assert set(ids_per_referral(sink)) == set(states)
    assert len(sink.received) == len(states)


def test_the_same_task_fired_five_times_at_once_sends_once(delivery_app, broker, workers, sink,
                                                            tokens, monkeypatch):
    hook_all(delivery_app, sink.url)
    sink.delay = 0.3
    api = Api(delivery_app.test_client(), tokens["counter"])
    monkeypatch.setattr(outbox, "enqueue", lambda ids: [])
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    monkeypatch.undo()
    with delivery_app.app_context():
        delivery = db.session.scalar(select(Delivery).join(Referral).where(
            Referral.consultation_id == created["id"], Delivery.channel == "webhook").limit(1))
        # Keep the sweeper out of it: only the five messages below may send this row.
        db.session.execute(update(Delivery).where(Delivery.id != delivery.id)
                           .values(state="cancelled"))
        db.session.execute(update(Delivery).where(Delivery.id == delivery.id)
                           .values(enqueued_at=utcnow()))
        db.session.commit()
        delivery_id = delivery.id
        celery = delivery_app.extensions["celery"]
        for _ in range(5):
            celery.send_task("caseapp.deliver", args=(delivery_id,))
        db.session.remove()
    worker = workers(broker, concurrency=4)
    wait_for(lambda: delivery_states(delivery_app) and any(
        s[1] == "delivered" for s in delivery_states(delivery_app).values()), timeout=60)

    def runs():
        return [e["retval"] for e in worker.finished("caseapp.deliver")
                if e["args"] == [delivery_id]]

    # The worker has handled all five messages: none is left to send a second time.
    wait_for(lambda: len(runs()) >= 5, 60, lambda: f"deliver tasks finished: {runs()}")
    assert runs().count("delivered") == 1
    assert len(sink.received) == 1
    with delivery_app.app_context():
        row = db.session.get(Delivery, delivery_id)
        assert row.attempts == 1 and len(row.attempt_rows) == 1
        db.session.remove()


def test_a_failing_partner_is_retried_by_the_sweeper_and_mail_goes_out(
        delivery_app, broker, workers, sink, tokens, smtp_server):
    _controller, mailbox = smtp_server
    mailbox.clear()
    with delivery_app.app_context():
        for partner in db.session.scalars(select(Partner)):
            partner.email = f"{partner.code}@example.jp"
        houkatsu = db.session.scalar(select(Partner).where(Partner.code == "houkatsu"))
        houkatsu.webhook_url, houkatsu.webhook_secret = sink.url, signing.generate_secret()
        db.session.commit()
        db.session.remove()
    # 500, then 503 asking for 2 s, then fine.
    answers = [(500, {}), (503, {"Retry-After": "2"})]
    sink.respond = lambda _r, n: answers[n] if n < len(answers) else (200, {})
    api = Api(delivery_app.test_client(), tokens["counter"])
    workers(broker)
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    referral_ids = [r["id"] for r in created["referrals"]]

    def done():
        shown = [api.get(f"/api/v1/referrals/{i}").json for i in referral_ids]
        return shown if all(r["status"] == "sent" and all(
            d["state"] == "delivered" for d in r["deliveries"]) for r in shown) else None

    # Retries wait on the sweeper and the filesystem broker polls: slow on a busy machine.
    shown = wait_for(done, timeout=180)
    webhook = next(d for r in shown for d in r["deliveries"] if d["channel"] == "webhook")
    assert [a["status_code"] for a in webhook["attempts"]] == [500, 503, 200]
    gap = (_ts(webhook["attempts"][2]["at"]) - _ts(webhook["attempts"][1]["at"]))
    assert gap >= 1.9  # Retry-After honoured, though the schedule said 1 s
    assert len(set(sink.ids())) == 1
    mails = {m["To"]: m for m in mailbox.messages}
    assert len(mails) == len(mailbox.messages) == len(referral_ids)
    for message in mails.values():
        assert "山田" not in message.get_payload(decode=True).decode()


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value).timestamp()


def test_redis_stopped_during_intake_still_answers_201_and_delivers_when_back(
        app, database_url, worker_instance, private_redis, workers, sink, tokens):
    api_app = create_app(make_config(database_url, worker_instance,
                                     broker_url=private_redis.url))
    hook_all(api_app, sink.url)
    workers(private_redis.url)
    api = Api(api_app.test_client(), tokens["counter"])
    private_redis.stop()
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert response.status_code == 201, response.json
    states = delivery_states(api_app)
    assert states and all(s[1] == "pending" for s in states.values())
    # With the broker down no task reaches a worker: the rows are as the API left them, not
    # one attempt made.
    with api_app.app_context():
        assert db.session.scalar(select(db.func.max(Delivery.attempts))) == 0
        db.session.remove()
    assert sink.received == []
    private_redis.start()
    states = wait_for(lambda: all_delivered(api_app), timeout=90)
    seen = ids_per_referral(sink)
    assert seen == {k: {s[2]} for k, s in states.items()}
