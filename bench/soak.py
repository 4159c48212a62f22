"""Soak: intake, deliveries and reminders for N minutes on the production stack, sampling the
memory (RSS) of every process and the depth of every queue; reports what grew.

    python -m bench.soak [--minutes 10] [--rate 4] [--redis redis://127.0.0.1:6379/14]

gunicorn (`caseapp api`, 2 workers × 4 threads), a Celery worker and beat (`caseapp worker`,
`caseapp beat`, sweep every 5 s) on Redis, PostgreSQL in a throw-away database, every partner's
webhook pointing at a local HTTP sink; all on 127.0.0.1. Load, all loops bounded by the
deadline: ``--rate`` intakes per second (each referral is delivered by the worker), and every
5 s a handful of cases whose next action is overdue, so the sweep sends their reminders. RSS
and queue depth are sampled every ``--every`` seconds; growth is the median of the last quarter
of the run against the median of the second quarter (the first is warm-up).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from bench.common import migrated_app, pg_database
from bench.delivery_bench import _reachable, _start, _stop
from bench.intake_bench import _port, _wait, bodies

ROOT = Path(__file__).resolve().parent.parent


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _tree(pid: int) -> list[int]:
    """The process and its descendants (gunicorn's and Celery's workers are children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in task.read_text().split())
    return out


def _setup(app, sink_url: str) -> str:
    from sqlalchemy import select

    from caseapp.domain import signing
    from caseapp.extensions import db
    from caseapp.models import Partner
    from caseapp.services.core import auth
    from caseapp.services.network.seed import seed_nankoku

    with app.app_context():
        seed_nankoku(db.session)
        for partner in db.session.scalars(select(Partner)):
            partner.webhook_url, partner.webhook_secret = sink_url, signing.generate_secret()
        db.session.commit()
        _user, token = auth.create_user(db.session, "soak", "counter")
        db.session.remove()
        db.engine.dispose()
    return token


def _overdue_cases(app, count: int) -> None:
    """Open cases whose next action was due a minute ago, with their reminder due now."""
    from caseapp.extensions import db
    from caseapp.models import Case, Reminder
    from caseapp.models.types import utcnow

    with app.app_context():
        now = utcnow()
        for _ in range(count):
            case = Case(status="open", next_action_at=now - timedelta(minutes=1))
            db.session.add(case)
            db.session.flush()
            db.session.add(Reminder(kind="case_next_action", status="due",
                                    dedup_key=f"soak:{case.id}", case_id=case.id,
                                    anchor_at=case.next_action_at, seq=1, due_at=now))
        db.session.commit()
        db.session.remove()


def _depths(app, redis_client) -> dict:
    from sqlalchemy import func, select

    from caseapp.extensions import db
    from caseapp.models import Delivery, Reminder, StaffNotice
    from caseapp.models.types import utcnow

    with app.app_context():
        s = db.session
        out = {
            "broker": redis_client.llen("celery"),
            "deliveries_pending": s.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.state.in_(("pending", "in_flight")))),
            "reminders_due": s.scalar(select(func.count()).select_from(Reminder).where(
                Reminder.status == "due", Reminder.due_at <= utcnow())),
            "notices_pending": s.scalar(select(func.count()).select_from(StaffNotice).where(
                StaffNotice.state.in_(("pending", "in_flight")))),
        }
        s.remove()
    return out


def _intake(port: int, token: str, rate: float, stop: float, result: dict) -> None:
    payloads = bodies(997)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n, next_at = 0, time.monotonic()
    while time.monotonic() < stop:
        next_at += 1 / rate
        try:
            conn.request("POST", "/api/v1/consultations", body=payloads[n % len(payloads)],
                         headers={"Content-Type": "application/json",
                                  "Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            result["ok" if response.status < 300 else "failed"] += 1
        except (OSError, http.client.HTTPException):
            result["failed"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n += 1
        time.sleep(max(0.0, next_at - time.monotonic()))
    conn.close()


def _growth(series: list[float]) -> dict:
    quarter = max(1, len(series) // 4)
    second, last = series[quarter:2 * quarter] or series[:1], series[-quarter:]
    early, late = statistics.median(second), statistics.median(last)
    return {"first": series[0], "early": early, "late": late, "max": max(series),
            "growth": round(late - early, 1),
            "growth_pct": round(100 * (late - early) / early, 1) if early else None}


def run(minutes: float, rate: float, every: float, redis_url: str) -> dict:
    import redis

    from tests.http_sink import Sink

    if not _reachable(redis_url, 6379):
        raise RuntimeError(f"Redis not reachable at {redis_url}")
    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    sink = Sink()
    procs: dict[str, subprocess.Popen] = {}
    with pg_database("caseapp_soak") as url, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEAPP_", "CELERY_"))}
        env.update(DATABASE_URL=url, CELERY_BROKER_URL=redis_url, SECRET_KEY="soak",
                   CASEAPP_INSTANCE_PATH=tmp, CASEAPP_WEBHOOK_ALLOW_PRIVATE="1",
                   CASEAPP_SWEEP_SECONDS="5", CASEAPP_RATELIMIT="1000000 per minute",
                   PYTHONPATH=str(ROOT))
        app = migrated_app(url, Path(tmp), broker_url=redis_url, webhook_allow_private=True)
        token = _setup(app, sink.url)
        port = _port()
        cli = [sys.executable, "-m", "caseapp.cli"]
        try:
            procs["api"] = _start([*cli, "api", "--workers", "2", "--threads", "4",
                                   "--port", str(port)], env)
            procs["worker"] = _start([*cli, "worker", "--concurrency=2", "--without-heartbeat",
                                      "--without-gossip", "--without-mingle",
                                      "--loglevel=WARNING"], env)
            procs["beat"] = _start([*cli, "beat"], env)
            _wait(port)
            began = time.monotonic()
            stop = began + minutes * 60
            intake = {"ok": 0, "failed": 0}
            loader = threading.Thread(target=_intake, args=(port, token, rate, stop, intake))
            loader.start()
            samples: list[dict] = []
            next_reminders = began
            while time.monotonic() < stop:
                if time.monotonic() >= next_reminders:
                    _overdue_cases(app, 5)
                    next_reminders += 5
                rss = {name: sum(_rss_kb(p) or 0 for p in _tree(proc.pid)) / 1024
                       for name, proc in procs.items()}
                samples.append({"t": round(time.monotonic() - began, 1),
                                **{f"rss_mb_{k}": round(v, 1) for k, v in rss.items()},
                                **_depths(app, redis_client)})
                time.sleep(every)
            loader.join(timeout=60)
            # Let the queues drain (bounded): what is left after this is a backlog that grew.
            drain_until = time.monotonic() + 60
            while time.monotonic() < drain_until:
                depth = _depths(app, redis_client)
                if not depth["deliveries_pending"] and not depth["reminders_due"]:
                    break
                time.sleep(1)
        finally:
            for proc in procs.values():
                _stop(proc)
            sink.close()
        keys = [k for k in samples[0] if k != "t"]
        return {"minutes": minutes, "rate": rate, "samples": len(samples),
                "intake": intake, "webhooks_received": len(sink.received),
                "after_drain": depth,
                "series": {k: _growth([s[k] for s in samples]) for k in keys}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=4.0, help="intakes per second")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS",
                                                          "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    result = run(args.minutes, args.rate, args.every, args.redis)
    print(f"{'series':<22}{'first':>9}{'early':>9}{'late':>9}{'max':>9}{'growth':>9}")
    for name, g in result["series"].items():
        print(f"{name:<22}{g['first']:>9}{g['early']:>9}{g['late']:>9}{g['max']:>9}"
              f"{g['growth']:>9}")
    print(json.dumps({k: v for k, v in result.items() if k != "series"}, ensure_ascii=False))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
