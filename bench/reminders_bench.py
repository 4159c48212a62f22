"""Reminder sweep on PostgreSQL: the due query and one sweep batch at 10k, 100k and 1M rows.

    python -m bench.reminders_bench [--quick] [--admin-url postgresql+psycopg://...]

Creates a throw-away database, builds the schema with the migrations, and for each size fills
``reminders`` with INSERT … SELECT generate_series: 1,000 rows due now (the backlog a sweep
finds, the same at every size), 9 % due later, the rest history (sent or withdrawn).
Reported per size:

* ``due_ms``: the sweep's due query (``reminders.due_ids``, batch 200) as the sweep calls it,
  median wall time including the round trip;
* ``due_exec_ms``: the same query's server execution time (EXPLAIN ANALYZE), median;
* ``due_pages``: the buffer pages the query touched (independent of machine load);
* ``index``: whether the plan reads the (status, due_at, id) index rather than the table;
* ``sweep_ms_per_reminder``: sweep batches of 200 due reminders fired (claim, staff notice,
  next reminder, commit each), per reminder, median of three batches.

Goal: the due query at 1,000,000 rows takes at most twice its time at 10,000.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

GOAL_RATIO = 2.0
BATCH = 200
CASES = 1000
DUE_NOW = 1000
SWEEPS = 3  # batches of BATCH fired per size; DUE_NOW must cover them
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
ANCHOR = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

FILL = """
INSERT INTO reminders (kind, status, dedup_key, case_id, anchor_at, seq, due_at, sent_at,
                       withdrawn_at, created_at)
SELECT 'case_next_action',
       CASE WHEN i % :step = 0 OR i % 100 < 9 THEN 'due'
            WHEN i % 10 = 5 THEN 'withdrawn' ELSE 'sent' END,
       'bench:' || i,
       1 + i % :cases,
       :anchor,
       1,
       CASE WHEN i % :step = 0 THEN :now - (i % 1440) * interval '1 minute'
            WHEN i % 100 < 9 THEN :now + (1 + i % 30) * interval '1 day'
            ELSE :now - (1 + i % 365) * interval '1 day' END,
       CASE WHEN i % :step <> 0 AND i % 100 >= 9 AND i % 10 <> 5
            THEN :now - (i % 365) * interval '1 day' END,
       CASE WHEN i % :step <> 0 AND i % 100 >= 9 AND i % 10 = 5
            THEN :now - (i % 365) * interval '1 day' END,
       :now - interval '400 days'
FROM generate_series(1, :rows) AS i
"""


def _create_database(admin_url: str) -> tuple[str, sa.Engine]:
    name = f"caseapp_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                             "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    return admin_url.rsplit("/", 1)[0] + "/" + name, admin


def _drop_database(admin: sa.Engine, url: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    admin.dispose()


def _fill(session, rows: int) -> None:
    session.execute(sa.text("TRUNCATE staff_notices, reminders RESTART IDENTITY CASCADE"))
    # The same backlog of due rows at every size (what a sweep finds), the rest grows.
    session.execute(sa.text(FILL), {"rows": rows, "cases": CASES, "now": NOW,
                                    "anchor": ANCHOR, "step": rows // DUE_NOW})
    session.commit()
    # What autovacuum does to a settled table: statistics, and the visibility map that lets
    # the due query be answered from the index alone.
    session.commit()
    with session.get_bind().connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE reminders")


def _median_ms(fn, rounds: int) -> float:
    fn()  # warm the cache and the plan
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def _explain(session, statement) -> tuple[float, bool, int]:
    """Server execution time, whether the index is used, and the pages the query touched."""
    compiled = statement.compile(dialect=session.get_bind().dialect,
                                 compile_kwargs={"literal_binds": True})
    plan = session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {compiled}")
                           ).scalar()
    session.commit()
    top = plan[0]["Plan"]
    pages = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return float(plan[0]["Execution Time"]), "ix_reminders_status_due_at" in str(plan), pages


def measure(session, rows: int, rounds: int) -> dict:
    from caseapp.models import Reminder
    from caseapp.services.casework import reminders

    _fill(session, rows)
    due_ms = _median_ms(lambda: reminders.due_ids(session, NOW, BATCH), rounds)
    query = (sa.select(Reminder.id).where(Reminder.status == "due", Reminder.due_at <= NOW)
             .order_by(Reminder.due_at).limit(BATCH))
    executions, indexed, pages = [], True, 0
    for _ in range(rounds):
        exec_ms, uses_index, pages = _explain(session, query)
        executions.append(exec_ms)
        indexed = indexed and uses_index
    per_reminder, sent = [], 0
    for _ in range(SWEEPS):  # the median batch: one slow fsync should not make the figure
        start = time.perf_counter()
        counts = reminders.sweep(session, NOW, limit=BATCH)
        elapsed = (time.perf_counter() - start) * 1000
        sent += counts.get("sent", 0)
        per_reminder.append(elapsed / max(1, sum(counts.values())))
    return {"rows": rows, "due_ms": round(due_ms, 3),
            "due_exec_ms": round(statistics.median(executions), 3), "index": indexed,
            "due_pages": pages, "sweep_sent": sent,
            "sweep_ms_per_reminder": round(statistics.median(per_reminder), 3)}


def run(quick: bool, admin_url: str = DEFAULT_ADMIN_URL) -> dict:
    from flask_migrate import upgrade

    from caseapp import create_app
    from caseapp.config import Config
    from caseapp.extensions import db

    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    rounds = 30 if quick else 100
    url, admin = _create_database(admin_url)
    try:
        with tempfile.TemporaryDirectory() as instance:
            app = create_app(Config(instance_path=Path(instance), database_url=url,
                                    broker_url="memory://", secret_key="bench"))
            with app.app_context():
                upgrade()
                session = db.session
                session.execute(sa.text(
                    "INSERT INTO cases (status, next_action_at, created_at, updated_at) "
                    "SELECT 'open', :anchor, :now, :now FROM generate_series(1, :n)"),
                    {"anchor": ANCHOR, "now": NOW - timedelta(days=400), "n": CASES})
                session.commit()
                results = [measure(session, rows, rounds) for rows in sizes]
                session.remove()
                db.engine.dispose()
    finally:
        _drop_database(admin, url)
    first, last = results[0], results[-1]
    return {
        "sizes": results,
        "ratio_wall": round(last["due_ms"] / first["due_ms"], 2),
        "ratio_exec": round(last["due_exec_ms"] / first["due_exec_ms"], 2),
        "goal_ratio": GOAL_RATIO,
        "ok": last["due_ms"] <= GOAL_RATIO * first["due_ms"] and all(r["index"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows only")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL,
                        help="a PostgreSQL URL allowed to create and drop a database")
    args = parser.parse_args()
    result = run(args.quick, args.admin_url)
    print(f"{'rows':>10}{'due ms':>9}{'exec ms':>9}{'pages':>7}{'index':>7}{'sweep ms/rem':>14}")
    for r in result["sizes"]:
        print(f"{r['rows']:>10,}{r['due_ms']:>9}{r['due_exec_ms']:>9}{r['due_pages']:>7}"
              f"{'yes' if r['index'] else 'NO':>7}{r['sweep_ms_per_reminder']:>14}")
    print(f"largest/smallest: wall {result['ratio_wall']}×, execution {result['ratio_exec']}× "
          f"(goal ≤ {result['goal_ratio']}×)  ok: {'yes' if result['ok'] else 'NO'}")


if __name__ == "__main__":
    main()
