"""Delivery throughput: referrals delivered per second to a local HTTP sink through caseapp's
outbox (claim, consent check, signed webhook, attempt + disclosure rows), against a bare Celery
task doing one HTTP POST, in the same run, on the same broker and worker concurrency.

    python -m bench.delivery_bench [--quick] [--postgres] [--redis URL] [--concurrency N]

Without Redis reachable it falls back to the embedded filesystem broker (both sides alike).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from bench.intake_bench import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("CASEAPP_TEST_POSTGRES",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url.replace("+psycopg", ""))
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                 timeout=1).close()
        return True
    except OSError:
        return False


def _start(cmd: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait(predicate, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not finish in time")
        time.sleep(0.02)
    return time.monotonic()


def _make_referrals(app, count: int, sink_url: str) -> list[int]:
    from sqlalchemy import select

    from caseapp.domain import signing
    from caseapp.extensions import db
    from caseapp.models import Case, Delivery, Partner
    from caseapp.services.core.actors import SYSTEM
    from caseapp.services.delivery import outbox
    from caseapp.services.network.seed import seed_nankoku
    from caseapp.services.referrals import lifecycle

    with app.app_context():
        seed_nankoku(db.session)
        partner = db.session.scalar(select(Partner).where(Partner.code == "jiritsu"))
        partner.webhook_url, partner.webhook_secret = sink_url, signing.generate_secret()
        case = Case(status="open")
        db.session.add(case)
        outbox.leave_to_sweeper(db.session)  # the timed run below hands them to the broker
        for i in range(count):
            lifecycle.create(db.session, SYSTEM, case=case, partner=partner,
                             reason=f"bench {i}", method="intro_letter", urgency="normal",
                             basis="anonymous")
        db.session.commit()
        ids = list(db.session.scalars(select(Delivery.id).order_by(Delivery.id)))
        db.session.remove()
        return ids


def run(quick: bool, *, postgres: bool = False, redis_url: str | None = None,
        concurrency: int = 2) -> dict:
    from tests.http_sink import Sink

    count = 100 if quick else 1000
    work = Path(tempfile.mkdtemp(prefix="delivery-bench-"))
    redis_url = redis_url or os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
    broker = redis_url if _reachable(redis_url, 6379) else "filesystem://"
    pg_name = None
    if postgres:
        import sqlalchemy as sa

        pg_name = f"caseapp_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {pg_name} TEMPLATE template0 ENCODING 'UTF8' "
                                 "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
        database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + pg_name
    else:
        database_url = f"sqlite:///{work / 'bench.sqlite3'}"
    if broker.startswith("redis"):
        import redis

        redis.Redis.from_url(broker).flushdb()
    sink = Sink()
    procs: list[subprocess.Popen] = []
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEAPP_", "CELERY_"))}
        env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=broker, SECRET_KEY="bench",
                   CASEAPP_INSTANCE_PATH=str(work / "instance"),
                   CASEAPP_WEBHOOK_ALLOW_PRIVATE="1", PYTHONPATH=str(ROOT))
        from flask_migrate import upgrade

        from caseapp import create_app
        from caseapp.config import from_env

        app = create_app(from_env(env))
        with app.app_context():
            upgrade()
        ids = _make_referrals(app, count + 1, sink.url)

        # caseapp: warm up on one delivery, then time the rest end to end.
        procs.append(_start([sys.executable, "-m", "caseapp.cli", "worker",
                             f"--concurrency={concurrency}", "--without-heartbeat",
                             "--without-gossip", "--without-mingle", "--loglevel=WARNING"], env))
        with app.app_context():
            from sqlalchemy import func, select

            from caseapp.extensions import db
            from caseapp.models import Delivery
            from caseapp.services.delivery import outbox

            def delivered() -> int:
                # Done means recorded in the database, not merely received by the sink.
                found = db.session.scalar(select(func.count()).select_from(Delivery)
                                          .where(Delivery.state == "delivered"))
                db.session.rollback()
                return found

            outbox.enqueue(ids[:1])
            _wait(lambda: delivered() >= 1, 120)
            started, cpu = time.monotonic(), cpu_seconds(procs[-1].pid)
            outbox.enqueue(ids[1:])
            ended = _wait(lambda: delivered() >= count + 1, 600)
            ours_cpu = cpu_seconds(procs[-1].pid) - cpu
            db.session.remove()
        ours = count / (ended - started)
        assert len(sink.received) >= count + 1
        _stop(procs.pop())

        # Bare: the same number of one-POST tasks through the same broker.
        sink.received.clear()
        bare_folder = work / "bare-broker"
        for sub in ("queue", "control"):
            (bare_folder / sub).mkdir(parents=True, exist_ok=True)
        bare_env = {**env, "BENCH_BROKER_URL": broker, "BENCH_BROKER_FOLDER": str(bare_folder)}
        procs.append(_start([sys.executable, "-m", "celery", "-A", "bench.bare_celery", "worker",
                             f"--concurrency={concurrency}", "--without-heartbeat",
                             "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
                            bare_env))
        os.environ.update(BENCH_BROKER_URL=broker, BENCH_BROKER_FOLDER=str(bare_folder))
        from bench.bare_celery import bare, post

        body = json.dumps({"type": "referral.requested", "data": {"referral_id": 0}})
        post.delay(sink.url, body)
        _wait(lambda: len(sink.received) >= 1, 120)
        started, cpu = time.monotonic(), cpu_seconds(procs[-1].pid)
        for _ in range(count):
            post.delay(sink.url, body)
        ended = _wait(lambda: len(sink.received) >= count + 1, 600)
        baseline_cpu = cpu_seconds(procs[-1].pid) - cpu
        baseline = count / (ended - started)
        bare.close()
    finally:
        for proc in procs:
            _stop(proc)
        sink.close()
        if pg_name:
            import sqlalchemy as sa

            admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
    return {
        "deliveries": count,
        "database": "postgresql" if postgres else "sqlite",
        "broker": "redis" if broker.startswith("redis") else "filesystem",
        "concurrency": concurrency,
        "caseapp_per_s": round(ours, 1),
        "bare_celery_post_per_s": round(baseline, 1),
        "ratio": round(ours / baseline, 2),
        # The worker's own CPU (its pool processes included; PostgreSQL's not): steadier
        # than the rates when other jobs share the cores.
        "caseapp_worker_cpu_ms": round(ours_cpu * 1000 / count, 2),
        "bare_worker_cpu_ms": round(baseline_cpu * 1000 / count, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--redis", default=None)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    result = run(args.quick, postgres=args.postgres, redis_url=args.redis,
                 concurrency=args.concurrency)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
