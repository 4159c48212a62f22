"""The monthly report over many consultations on PostgreSQL (goal: 1,000,000 in ≤ 1 s).

The floor is one bare ``SELECT count(*) … GROUP BY month`` over the same table: the least any
monthly report must do. Measured twice: with every month read from the base tables (no rollup
built), and after beat's rollup has built the closed months (January to November; December,
the current month, empty, from the base tables). The report runs as in production: a
supervisor's call, scoped to the municipality, with its audit entry. Also reported: bytes per
row of each loaded table with its indexes (``pg_total_relation_size``), for the sizing in
bench/README.md.
"""

import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench.common import median, migrated_app, pg_database, timed

FILL = """
INSERT INTO users (id, name, role, active, created_at, municipality_id)
VALUES (1, 'bench', 'supervisor', true, now(), :town);
INSERT INTO clients (name, search_key, district, created_at, updated_at, municipality_id)
SELECT '相談者' || g, 'ソウダンシャ' || g, (ARRAY['岡豊','十市','稲生','大篠','三和'])[1 + g % 5],
       now(), now(), :town
FROM generate_series(1, :clients) AS g;
INSERT INTO cases (client_id, owner_id, status, created_at, updated_at, next_action_at,
                   municipality_id)
SELECT 1 + g % :clients, CASE WHEN g % 50 = 0 THEN NULL ELSE 1 END,
       CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'open' END,
       timestamptz '2026-01-01' + (g % 330) * interval '1 day', now(),
       timestamptz '2026-01-01' + (g % 400) * interval '1 day', :town
FROM generate_series(1, :cases) AS g;
INSERT INTO consultations (case_id, client_id, received_at, channel, urgency, summary, facts,
                           fallback_only, created_at, municipality_id)
SELECT 1 + g % :cases, CASE WHEN g % 10 = 0 THEN NULL ELSE 1 + g % :clients END,
       timestamptz '2026-01-01' + (g % 330) * interval '1 day' + (g % 600) * interval '1 minute',
       (ARRAY['window','phone','visit','outreach','event'])[1 + g % 5], 'normal', '', '{}',
       g % 7 = 0, now(), :town
FROM generate_series(1, :rows) AS g;
INSERT INTO consultation_topics (consultation_id, topic, position)
SELECT id, (ARRAY['debt','income_living','housing','job_seeking','elder_care','childcare'])
           [1 + id % 6], 0 FROM consultations;
INSERT INTO routing_decisions (consultation_id, partner_code, rule_id, reason, action, method,
                               matched, also)
SELECT id, 'jiritsu', CASE WHEN id % 7 = 0 THEN 'fallback' ELSE 'elderly' END, 'r', 'refer',
       'info_only', '[]', '[]' FROM consultations;
INSERT INTO referrals (case_id, consultation_id, partner_id, reason, method, urgency, status,
                       outcome, created_at, updated_at, requested_at, sent_at, received_at,
                       accepted_at, completed_at, municipality_id)
SELECT c.case_id, c.id, 1 + c.id % 15, 'r', 'info_only', 'normal',
       (ARRAY['sent','received','accepted','completed','rejected'])[1 + c.id % 5],
       CASE WHEN c.id % 5 = 3 THEN 'got_help' END, c.received_at, now(), c.received_at,
       c.received_at + (c.id % 3) * interval '1 hour',
       CASE WHEN c.id % 5 >= 1 THEN c.received_at + (c.id % 4) * interval '1 day' END,
       CASE WHEN c.id % 5 >= 2 THEN c.received_at + (c.id % 6) * interval '1 day' END,
       CASE WHEN c.id % 5 = 3 THEN c.received_at + (c.id % 20) * interval '1 day' END, :town
FROM consultations c WHERE c.id % 3 = 0;
INSERT INTO referral_events (referral_id, from_status, to_status, actor_label, at)
SELECT r.id, NULL, s.status, 'bench', r.created_at + s.step * interval '1 day'
FROM referrals r, (VALUES ('requested', 0), ('sent', 1), ('received', 2)) AS s(status, step);
ANALYZE;
"""


def run(quick: bool) -> dict:
    rows = 100_000 if quick else 1_000_000
    from caseapp.extensions import db
    from caseapp.services.community import areas
    from caseapp.services.core import scope
    from caseapp.services.core.actors import Actor
    from caseapp.services.network.seed import seed_nankoku
    from caseapp.services.reports import monthly, rollup

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with pg_database() as url, tempfile.TemporaryDirectory() as tmp:
        app = migrated_app(url, Path(tmp))
        with app.app_context():
            seed_nankoku(db.session)
            town = areas.municipality(db.session, "nankoku").id
            for statement in FILL.split(";\n"):
                if statement.strip():
                    db.session.execute(text(statement), {"rows": rows, "cases": rows // 2,
                                                         "clients": rows // 4, "town": town})
            db.session.commit()
            period = monthly.Period.months("2026-01", "2026-12")
            now = datetime(2026, 12, 31, tzinfo=UTC)
            # As in production: a supervisor's request, scoped to the municipality, audited.
            supervisor = Actor(user_id=1, name="bench", role="supervisor", municipality_id=town)

            def report():
                scope.enter(db.session, scope.for_actor(db.session, supervisor, town))
                try:
                    return monthly.read(db.session, supervisor, period, 46000, now)
                finally:
                    scope.leave(db.session)

            base = timed(report, 3)
            start = time.perf_counter()
            rollup.refresh(db.session, now)
            build_s = time.perf_counter() - start
            caseapp = timed(report, 3)
            sizes = _bytes_per_row(db.session)
            floor_sql = text("SELECT to_char(received_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM'), "
                             "count(*) FROM consultations GROUP BY 1")
            floor = timed(lambda: db.session.execute(floor_sql).all(), 3)
            db.session.remove()
    return {"report_rows": rows, "report_s": round(median(caseapp), 3),
            "report_base_s": round(median(base), 3), "rollup_build_s": round(build_s, 2),
            "bytes_per_row": sizes,
            "report_floor_s": round(median(floor), 3),
            "report_ratio": round(median(floor) / median(caseapp), 3)}


def _bytes_per_row(session) -> dict:
    """Table + TOAST + indexes, per row, of every table the fill loaded."""
    rows = session.execute(text(
        "SELECT c.relname, pg_total_relation_size(c.oid), pg_indexes_size(c.oid), s.n_live_tup "
        "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
        "WHERE s.n_live_tup >= 1000")).all()
    session.commit()
    return {name: {"rows": live, "total_per_row": round(total / live),
                   "index_per_row": round(index / live)} for name, total, index, live in rows}


if __name__ == "__main__":
    result = run("--quick" in sys.argv)
    for key, value in result.items():
        print(f"{key:>16}: {value}")
