"""What the benchmarks share: a throw-away PostgreSQL database with the real schema, timing."""

import contextlib
import os
import statistics
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("CASEAPP_BENCH_POSTGRES",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def pg_database(prefix: str = "caseapp_bench"):
    """A fresh UTF-8 database, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                             "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def migrated_app(database_url: str, instance: Path, **config):
    """The real app on that database, schema built by the migrations."""
    from flask_migrate import upgrade

    from caseapp import create_app
    from caseapp.config import Config

    settings = dict(instance_path=instance, database_url=database_url, broker_url="memory://",
                    secret_key="bench")
    settings.update(config)
    app = create_app(Config(**settings))
    with app.app_context():
        upgrade()
    return app


def timed(fn, repeat: int) -> list[float]:
    """Seconds per call, ``repeat`` calls after one warm-up."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)
