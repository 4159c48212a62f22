"""After-event report speed: median ms for the report (JSON and CSV) and the evening's queue.

    python -m bench.event_report [--quick] [--database-url postgresql+psycopg://...]

An evening has tens of consultations; the bench uses 1,000 (200 with --quick) so that a report
that loads rows one by one instead of counting in the database shows up.
Targets (1,000 consultations, SQLite on this machine): report <= 100 ms, CSV <= 100 ms,
one queue page of 200 <= 250 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from caseapp import create_app
from caseapp.config import Config
from caseapp.extensions import db
from caseapp.rules import TOPICS
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import auth
from caseapp.services.core.actors import Actor
from caseapp.services.events import event_report, events, teams
from caseapp.services.intake import consultations
from caseapp.services.network.seed import seed_nankoku

TARGET_MS = {"report": 100.0, "report_csv": 100.0, "queue_page_200": 250.0}
PRESENT = ["jiritsu", "houterasu", "shakyo_loan", "minsei", "fukushi_jimusho", "hellowork"]
START = datetime(2026, 12, 4, 18, 0, tzinfo=TOKYO)


def _evening(session, actor: Actor, count: int, rng: random.Random) -> int:
    event = events.create(session, actor, {
        "name": "ベンチ相談会", "date": START.date(), "starts_at": START,
        "ends_at": START + timedelta(hours=3), "venue": "公民館",
        "partners": [{"code": c} for c in PRESENT]})
    for i in range(count):
        body = {"channel": "event", "event_id": event.id,
                "received_at": START + timedelta(seconds=10 * i),
                "topics": rng.sample(sorted(TOPICS), rng.choice((1, 1, 2, 3)))}
        if rng.random() < 0.6:
            body["client"] = {"name": f"相談者 {i}"}
        consultation = consultations.record(session, actor, body).consultation
        if rng.random() < 0.8:
            outcome = rng.choice(("resolved_on_site", "referred", "follow_up"))
            teams.record(session, actor, consultation.id, {
                "partners": rng.sample(PRESENT, rng.choice((1, 2, 3))), "outcome": outcome})
    return event.id


def _median_ms(fn, rounds: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


def run(quick: bool, database_url: str | None = None) -> dict:
    count, rounds = (200, 5) if quick else (1000, 15)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = create_app(Config(instance_path=Path(tmp), database_url=url, broker_url="memory://",
                                secret_key="bench", testing=True))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            session = db.session
            seed_nankoku(session)
            user, _token = auth.create_user(session, f"bench-{time.time_ns()}", "counter")
            actor = Actor(user_id=user.id, name=user.name, role="counter")
            t0 = time.perf_counter()
            event_id = _evening(session, actor, count, random.Random(7))
            setup_s = time.perf_counter() - t0
            report = event_report.build(session, actor, event_id)
            assert report["consultations"]["total"] == count
            results = {
                "report": _median_ms(lambda: event_report.build(session, actor, event_id),
                                     rounds),
                "report_csv": _median_ms(lambda: event_report.to_csv(
                    event_report.build(session, actor, event_id)), rounds),
                "queue_page_200": _median_ms(lambda: (events.queue(
                    session, actor, event_id, page=1, per_page=200), session.commit()), rounds),
            }
    return {"consultations": count, "backend": url.split(":", 1)[0],
            "setup_s": round(setup_s, 1),
            "median_ms": results, "target_ms": TARGET_MS,
            "ok": all(results[k] <= TARGET_MS[k] for k in TARGET_MS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 consultations, fewer rounds")
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    args = parser.parse_args()
    r = run(args.quick, args.database_url)
    print(f"{r['consultations']} consultations on {r['backend']} (set up in {r['setup_s']} s)")
    print(f"{'measure':<16}{'median ms':>11}{'target ms':>11}  ok")
    for name, ms in r["median_ms"].items():
        target = r["target_ms"][name]
        print(f"{name:<16}{ms:>11}{target:>11.0f}  {'yes' if ms <= target else 'NO'}")


if __name__ == "__main__":
    main()
