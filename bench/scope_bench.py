"""The municipality boundary's cost: the same service operations scoped and unscoped, one run.

    python -m bench.scope_bench [--quick]

Three municipalities (Nankoku, Nakatosa, Hidaka) share one PostgreSQL database, each with its
clients (search keys and bigrams as the service stores them) and consultations recorded through
the intake service. The application connects as a role that owns nothing, as deployed, so
row-level security applies. Each operation runs as a request would: scoped, the scope is built
and entered for the actor's municipality first (as the API does per request) and left after;
unscoped, the same call without it (what beat, the worker and the CLI do).

Unscoped reads see all three towns' rows (three times the clients to rank, the cases to queue);
scoped ones see one town's. The ratio is unscoped ms / scoped ms: 1.0 is no cost, below 1.0 the
scope costs that much. Drift on a shared machine falls on both: each scoped call runs beside
its unscoped twin, in turn first and second.
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import median, pg_database
from bench.intake_bench import BODY
from bench.search_bench import generate, queries

TOWNS = ("nankoku", "nakatosa", "hidaka")
OPERATIONS = ("intake", "search", "case read", "queue", "case read (API)", "lost cases (API)")
# Requests through the app (test client, bearer token): what a user waits for. Their unscoped
# twin is the same request with the boundary switched off (``_unscoped_requests``).
REQUESTS = {"case read (API)", "lost cases (API)"}


def _grant_app_role(owner_url: str) -> str:
    """A role ``<database>_app`` that may read and write every table and owns none."""
    url = sa.make_url(owner_url)
    role = f"{url.database}_app"
    engine = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
        conn.exec_driver_sql(f"GRANT CONNECT, TEMPORARY ON DATABASE {url.database} TO {role}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.exec_driver_sql("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                             f"TO {role}")
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    engine.dispose()
    return url.set(username=role).render_as_string(hide_password=False)


def _drop_role(app_url: str) -> None:
    from bench.common import PG_ADMIN_URL

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {sa.make_url(app_url).username}")
    admin.dispose()


def _app(database_url: str, instance: Path, owner_url: str = ""):
    from caseapp import create_app
    from caseapp.config import Config

    return create_app(Config(instance_path=instance, database_url=database_url,
                             migration_database_url=owner_url, broker_url="memory://",
                             secret_key="bench", testing=True))


def _load(clients_per_town: int, intakes_per_town: int) -> dict:
    """As the owner: the three networks, a counter each, clients, and intakes. Returns what
    the measurement needs per town: actor fields, case ids, queries."""
    from caseapp.api.schemas.consultations import ConsultationIn
    from caseapp.extensions import db
    from caseapp.models import Case, Client, ClientBigram
    from caseapp.services.clients.records import index_grams
    from caseapp.services.community import areas
    from caseapp.services.core import auth, scope
    from caseapp.services.core.actors import Actor
    from caseapp.services.intake import consultations
    from caseapp.services.network import seed

    session = db.session
    rows = generate(clients_per_town * len(TOWNS))
    towns = {}
    next_id = 1
    for n, name in enumerate(TOWNS):
        seed.seed_network(session, name)
        town = areas.municipality(session, name).id
        user, token = auth.create_user(session, f"bench-{name}", "counter",
                                       municipality_id=town)
        chunk = rows[n * clients_per_town:(n + 1) * clients_per_town]
        for start in range(0, len(chunk), 5000):
            part = [{**r, "municipality_id": town} for r in chunk[start:start + 5000]]
            session.execute(sa.insert(Client), part)
            session.execute(sa.insert(ClientBigram),
                            [{"bigram": g, "client_id": r["id"]} for r in part
                             for g in index_grams(r["search_key"], r["kana_key"])])
        session.commit()
        next_id += len(chunk)
        towns[name] = {"municipality_id": town, "user_id": user.id, "token": token,
                       "queries": [q for _kind, q in queries(chunk, 3, seed=n)]}
    # Clients were given ids by hand: the sequence continues after them.
    session.execute(sa.text("SELECT setval('clients_id_seq', :n)"), {"n": next_id})
    session.commit()
    for name in TOWNS:
        info = towns[name]
        actor = Actor(user_id=info["user_id"], name=f"bench-{name}", role="counter",
                      municipality_id=info["municipality_id"])
        scope.enter(session, scope.for_municipality(session, info["municipality_id"]))
        for _ in range(intakes_per_town):
            consultations.record(session, actor, ConsultationIn().load(BODY))
        scope.leave(session)
        info["case_ids"] = list(session.scalars(
            sa.select(Case.id).where(Case.municipality_id == info["municipality_id"])))
    session.remove()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return towns


def _operations(towns: dict, rng: random.Random, client) -> dict:
    from caseapp.api.schemas.consultations import ConsultationIn
    from caseapp.extensions import db
    from caseapp.services.casework import cases, queue
    from caseapp.services.clients import records
    from caseapp.services.intake import consultations

    def intake(actor, info):
        consultations.record(db.session, actor, ConsultationIn().load(BODY))

    def search(actor, info):
        records.search(db.session, actor, rng.choice(info["queries"]), 1, 20)
        db.session.commit()

    def case_read(actor, info):
        cases.get(db.session, actor, rng.choice(info["case_ids"]))

    def queue_(actor, info):
        queue.for_actor(db.session, actor)
        db.session.commit()

    def get(path):
        def request(actor, info):
            response = client.get(path(info), headers={"Authorization": f"Bearer {info['token']}"})
            assert response.status_code == 200, response.status_code
        return request

    return {"intake": intake, "search": search, "case read": case_read, "queue": queue_,
            "case read (API)": get(lambda info: f"/api/v1/cases/{rng.choice(info['case_ids'])}"),
            "lost cases (API)": get(lambda info: "/api/v1/cases?lost=true")}


class _unscoped_requests:
    """The app's requests with the boundary switched off: the actor's scope is never entered."""

    def __enter__(self):
        from caseapp.services.core import scope

        self.saved = scope.for_actor, scope.enter
        scope.for_actor, scope.enter = (lambda *_args: None), (lambda *_args: None)

    def __exit__(self, *_exc):
        from caseapp.services.core import scope

        scope.for_actor, scope.enter = self.saved


def _measure(towns: dict, rounds: int, per_round: int) -> dict:
    from flask import current_app

    from caseapp.extensions import db
    from caseapp.services.core import scope
    from caseapp.services.core.actors import Actor

    rng = random.Random(5)
    ops = _operations(towns, rng, current_app.test_client())
    actors = {name: Actor(user_id=info["user_id"], name=f"bench-{name}", role="counter",
                          municipality_id=info["municipality_id"])
              for name, info in towns.items()}
    timings = {(op, mode): [] for op in OPERATIONS for mode in ("scoped", "unscoped")}

    def once(op: str, mode: str, name: str) -> float:
        actor, info = actors[name], towns[name]
        if op in REQUESTS:  # the app enters and leaves the scope itself
            start = time.perf_counter()
            if mode == "scoped":
                ops[op](actor, info)
            else:
                with _unscoped_requests():
                    ops[op](actor, info)
            elapsed = time.perf_counter() - start
            db.session.remove()  # the test client shares the bench's application context
            return elapsed
        start = time.perf_counter()
        if mode == "scoped":
            scope.enter(db.session, scope.for_actor(db.session, actor, actor.municipality_id))
        try:
            ops[op](actor, info)
        finally:
            if mode == "scoped":
                scope.leave(db.session)
            db.session.remove()
        return time.perf_counter() - start

    for op in OPERATIONS:  # warm the statement caches of both modes
        for mode in ("scoped", "unscoped"):
            once(op, mode, TOWNS[0])
    # Each scoped call has its unscoped twin right beside it, first one then the other.
    for r in range(rounds):
        for op in OPERATIONS:
            for i in range(per_round):
                name = TOWNS[i % len(TOWNS)]
                modes = ("scoped", "unscoped") if (r + i) % 2 == 0 else ("unscoped", "scoped")
                for mode in modes:
                    timings[(op, mode)].append(once(op, mode, name))
    out = {}
    for op in OPERATIONS:
        scoped = median(timings[(op, "scoped")]) * 1000
        unscoped = median(timings[(op, "unscoped")]) * 1000
        out[op] = {"scoped_ms": round(scoped, 2), "unscoped_ms": round(unscoped, 2),
                   "ratio": round(unscoped / scoped, 3), "samples": len(timings[(op, "scoped")])}
    return out


def run(quick: bool) -> dict:
    clients, intakes = (5_000, 40) if quick else (30_000, 200)
    rounds, per_round = (6, 10) if quick else (10, 20)
    from flask_migrate import upgrade

    from caseapp.extensions import db

    app_url = None
    try:
        with tempfile.TemporaryDirectory() as tmp, pg_database("caseapp_bench_scope") as owner:
            started = time.perf_counter()
            with _app(owner, Path(tmp) / "owner").app_context():
                upgrade()
                towns = _load(clients, intakes)
                db.engine.dispose()
            loaded_s = time.perf_counter() - started
            app_url = _grant_app_role(owner)
            with _app(app_url, Path(tmp) / "app", owner).app_context():
                result = _measure(towns, rounds, per_round)
                db.session.remove()
                db.engine.dispose()
    finally:
        if app_url:  # after its database: the role's grants went with it
            _drop_role(app_url)
    return {"operations": result, "towns": len(TOWNS), "clients_per_town": clients,
            "intakes_per_town": intakes, "load_s": round(loaded_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    r = run(args.quick)
    print(f"{r['towns']} municipalities, {r['clients_per_town']:,} clients and "
          f"{r['intakes_per_town']} intakes each (loaded in {r['load_s']} s)")
    print(f"{'operation':<18}{'scoped ms':>11}{'unscoped ms':>13}{'ratio':>8}")
    for op, x in r["operations"].items():
        print(f"{op:<18}{x['scoped_ms']:>11}{x['unscoped_ms']:>13}{x['ratio']:>8}")
    print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
