"""Referral-loop reads at volume: partner inbox, staff overdue list, lost cases.

    python -m bench.partner_inbox_bench [--quick] [--database-url URL]

Fills a fresh database (SQLite in a temporary folder unless a URL is given) with referrals
spread over the Nankoku partners, then times requests through the WSGI app, in milliseconds,
and as a ratio to a one-row staff read (GET /cases/{id}) on the same stack: a page costs what a
page costs, whatever the size of the table.

Targets at 20,000 referrals: inbox page and detail within 5x a one-row read; overdue list and
lost cases within 10x.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGET_RATIO = {"inbox_page": 5.0, "inbox_detail": 5.0, "staff_overdue": 10.0,
                "lost_cases": 10.0}
STATUSES = ("sent", "received", "accepted", "in_progress", "completed", "rejected",
            "cancelled", "requested")


def _fill(session, referrals: int, seed: int = 5) -> None:
    from sqlalchemy import insert, select

    from caseapp.models import (
        Case,
        Client,
        Consent,
        Consultation,
        ConsultationTopic,
        Partner,
        Referral,
        ReferralEvent,
    )

    rng = random.Random(seed)
    partners = dict(session.execute(select(Partner.code, Partner.id)).all())
    codes = sorted(partners)
    now = datetime.now(UTC)
    cases = max(1, referrals // 3)
    session.execute(insert(Client), [
        {"id": i, "name": f"相談者{i}", "name_kana": "ソウダンシャ", "search_key": f"相談者{i}",
         "phone": f"088{i:07d}", "created_at": now, "updated_at": now}
        for i in range(1, cases + 1)])
    session.execute(insert(Consent), [
        {"client_id": i, "scope": "network", "partners": [], "purposes": [],
         "covers_sensitive": False, "method": "written", "given_at": now - timedelta(days=90),
         "created_at": now} for i in range(1, cases + 1)])
    session.execute(insert(Case), [
        {"id": i, "client_id": i, "owner_id": None if i % 50 == 0 else 1, "status": "open",
         "next_action_at": now + timedelta(days=rng.randint(-3, 20)), "created_at": now,
         "updated_at": now} for i in range(1, cases + 1)])
    session.execute(insert(Consultation), [
        {"id": i, "case_id": i, "client_id": i, "received_at": now, "channel": "window",
         "urgency": "normal", "summary": "生活費と借金の相談", "facts": {}, "created_at": now}
        for i in range(1, cases + 1)])
    session.execute(insert(ConsultationTopic), [
        {"consultation_id": i, "topic": topic, "position": n}
        for i in range(1, cases + 1) for n, topic in enumerate(("debt", "income_living"))])
    rows, events = [], []
    for i in range(1, referrals + 1):
        case = rng.randint(1, cases)
        status = rng.choice(STATUSES)
        at = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
        pending = status in ("requested", "sent", "received")
        rows.append({"id": i, "case_id": case, "consultation_id": case,
                     "partner_id": partners[rng.choice(codes)], "reason": "つなぎの理由",
                     "method": "intro_letter", "urgency": "normal", "status": status,
                     "legal_basis": f"consent:{case}", "created_at": at, "updated_at": at,
                     "status_at": at, "ack_due_at": at + timedelta(days=3) if pending else None})
        events.append({"referral_id": i, "from_status": None, "to_status": status,
                       "actor_label": "system", "at": at})
    session.execute(insert(Referral), rows)
    session.execute(insert(ReferralEvent), events)
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("ANALYZE"))  # planner statistics, as autovacuum would gather
        session.commit()


def _time(client, method: str, path: str, rounds: int, **kw) -> float:
    best = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.open(path, method=method, **kw)
        best.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, (path, response.status_code, response.json)
    return statistics.median(best)


def run(quick: bool, database_url: str | None = None) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from caseapp import create_app
    from caseapp.config import Config
    from caseapp.extensions import db
    from caseapp.models import Partner, Referral
    from caseapp.services.core import auth
    from caseapp.services.network.seed import seed_nankoku

    size = 2_000 if quick else 20_000
    rounds = 5 if quick else 20
    folder = Path(tempfile.mkdtemp(prefix="caseapp-bench-"))
    url = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = create_app(Config(instance_path=folder, database_url=url, broker_url="memory://",
                            secret_key="bench", testing=True))
    with app.app_context():
        upgrade()
        seed_nankoku(db.session)
        _user, staff = auth.create_user(db.session, "bench-counter", "counter")
        partner = auth.partner_token(db.session, "houkatsu")
        _fill(db.session, size)
        houkatsu = db.session.scalar(select(Partner.id).where(Partner.code == "houkatsu"))
        own = db.session.scalar(select(Referral.id).where(Referral.partner_id == houkatsu,
                                                          Referral.status != "awaiting_consent"))
        db.session.remove()
    client = app.test_client()
    as_staff = {"headers": {"Authorization": f"Bearer {staff}"}}
    as_partner = {"headers": {"Authorization": f"Bearer {partner}"}}
    base = _time(client, "GET", "/api/v1/cases/1", rounds, **as_staff)
    timings = {
        "inbox_page": _time(client, "GET", "/api/v1/partner/referrals?per_page=50", rounds,
                            **as_partner),
        "inbox_detail": _time(client, "GET", f"/api/v1/partner/referrals/{own}", rounds,
                              **as_partner),
        "staff_overdue": _time(client, "GET", "/api/v1/referrals?overdue=true&per_page=50",
                               rounds, **as_staff),
        "lost_cases": _time(client, "GET", "/api/v1/cases?lost=true&per_page=50", rounds,
                            **as_staff),
    }
    results = {"referrals": size, "backend": url.split(":", 1)[0],
               "one_row_read_ms": round(base, 2)}
    for name, ms in timings.items():
        ratio = ms / base
        results[name] = {"ms": round(ms, 2), "ratio": round(ratio, 1),
                         "target_ratio": TARGET_RATIO[name], "ok": ratio <= TARGET_RATIO[name]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 referrals, fewer rounds")
    parser.add_argument("--database-url", help="an empty database to fill (default: SQLite)")
    args = parser.parse_args()
    results = run(args.quick, args.database_url)
    print(f"{results['referrals']} referrals on {results['backend']}; one-row read "
          f"{results['one_row_read_ms']} ms")
    print(f"{'request':<16}{'median ms':>11}{'ratio':>8}{'target':>8}  ok")
    for name in TARGET_RATIO:
        r = results[name]
        print(f"{name:<16}{r['ms']:>11}{r['ratio']:>8}{r['target_ratio']:>8}  "
              f"{'yes' if r['ok'] else 'NO'}")


if __name__ == "__main__":
    main()
