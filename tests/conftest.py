"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built once per backend by the Alembic migrations; each test starts from empty
tables and leaves none of its rows behind:

- PostgreSQL: the test runs inside a transaction that is rolled back at the end. ``db.session``
  is bound to that one connection and turns every commit into the release of a savepoint, so
  services commit as usual. A test whose commits must be seen by other connections (worker
  processes, threads, the CLI in a subprocess) is marked ``real_commits``: it commits for real
  and the tables are emptied with TRUNCATE afterwards. Ids are not restarted between tests:
  use the ids the API or the service returned.
- SQLite: tables are emptied with DELETE before each test; SQLite's savepoints under pysqlite's
  own transaction handling are not worth the trouble for a file this small.

``CASEAPP_TEST_NOW`` (an ISO time with offset, e.g. ``2026-11-28T23:30:00+09:00``) starts the
whole run's clock there; worker processes follow. Tests marked ``calendar`` depend on the
business calendar and must pin their own clock, which a run at a Saturday night and during
年末年始 checks (.ci/run).

Server-backed tests skip with a reason when the server is absent, except under CI=true where a
missing server is a failure.
"""

import contextlib
import os
import shutil
import socket
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine
from flask import current_app
from flask.globals import app_ctx
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import scoped_session, sessionmaker

from caseapp import create_app
from caseapp.config import Config
from caseapp.extensions import db
from tests import logscan
from tests.http_sink import Sink

# logscan: no personal data in any log line of the run; pytester: runs of pytest in a test.
pytest_plugins = ["tests.logscan", "pytester"]

PG_ADMIN_URL = os.environ.get("CASEAPP_TEST_POSTGRES",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CASEAPP_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
TEST_NOW = os.environ.get("CASEAPP_TEST_NOW", "").strip()
_RUN_CLOCK = pytest.StashKey[time_machine.travel]()


def pytest_configure(config):
    if TEST_NOW:
        config.stash[_RUN_CLOCK] = time_machine.travel(datetime.fromisoformat(TEST_NOW),
                                                       tick=True)
        config.stash[_RUN_CLOCK].start()


def pytest_unconfigure(config):
    if _RUN_CLOCK in config.stash:
        config.stash[_RUN_CLOCK].stop()


def pytest_report_header(config):
    if TEST_NOW:
        return f"clock: the run starts at CASEAPP_TEST_NOW={TEST_NOW}"
    return None



def need(server: str, problem: str | None) -> None:
    """Skip (or, under CI, fail) a test whose server is not there."""
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{server} is required under CI=true but unavailable: {problem}")
    pytest.skip(f"{server} unavailable ({problem}); start it to run this test")


def port_problem(url: str, default_port: int) -> str | None:
    parts = urlsplit(url.replace("+psycopg", ""))
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                 timeout=2).close()
    except OSError as exc:
        return f"{parts.hostname}:{parts.port or default_port}: {exc}"
    return None


def redis_problem() -> str | None:
    problem = port_problem(REDIS_URL, 6379)
    if problem:
        return problem
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"{REDIS_URL}: {exc}"
    return None


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    """The URL the application connects with: on PostgreSQL a role that owns nothing, so
    row-level security applies to every query of the run (see ``scratch_postgres``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'caseapp.sqlite3'}"
        return
    need("PostgreSQL", port_problem(PG_ADMIN_URL, 5432))
    with scratch_postgres("caseapp_test") as url:
        yield app_role_url(url)


# The owner's URL of each application role's URL: migrations and TRUNCATE run as the owner.
OWNERS: dict[str, str] = {}


def app_role_url(owner_url: str) -> str:
    """The URL of the scratch database's application role (trust authentication)."""
    parts = sa.make_url(owner_url)
    url = parts.set(username=f"{parts.database}_app").render_as_string(hide_password=False)
    OWNERS[url] = owner_url
    return url


@contextlib.contextmanager
def scratch_postgres(prefix: str):
    """A new, empty PostgreSQL database for as long as the block runs; dropped after.

    The URL given is the owner's (the server's superuser here). A role ``<database>_app``
    is made beside it as the deployment's ``caseapp_app``: it owns nothing and may read and
    write every table the owner makes, so row-level security applies to it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    role = f"{name}_app"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # A UTF-8 ctype is what makes trigram search work on Japanese text.
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                             "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
        conn.exec_driver_sql(f"GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {role}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    owner = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        for statement in app_role_grants(role):
            conn.exec_driver_sql(statement)
    owner.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


@contextlib.contextmanager
def empty_database(kind: str, tmp_path, prefix: str):
    """An empty database of the kind ("sqlite" or "postgresql") for a migration test."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
        return
    need("PostgreSQL", port_problem(PG_ADMIN_URL, 5432))
    with scratch_postgres(prefix) as url:
        yield url


def app_role_grants(role: str) -> list[str]:
    """What docs/configuration.md grants caseapp_app, for the tables the owner makes later."""
    return [f"GRANT USAGE ON SCHEMA public TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE "
            f"ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES "
            f"TO {role}"]


def make_config(database_url: str, instance: Path, **changes) -> Config:
    defaults = dict(instance_path=instance, database_url=database_url,
                    migration_database_url=OWNERS.get(database_url, ""), broker_url="memory://",
                    secret_key="test-secret", testing=True, webhook_allow_private=True,
                    retry_delays=(1, 2, 4), base_url="http://caseapp.test",
                    ratelimit_enabled=False)
    defaults.update(changes)
    return Config(**defaults)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    app = create_app(make_config(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        if db.engine.dialect.name == "postgresql":
            truncate_tables()  # what a data migration wrote; later tests leave nothing behind
    return app


def table_names() -> list[str]:
    return [t.name for t in reversed(db.metadata.sorted_tables)]


def truncate_tables() -> None:
    """PostgreSQL: empty every table at once, ids restarting at 1, as the tables' owner."""
    owner = current_app.config["CASEAPP"].migration_database_url
    engine = sa.create_engine(owner, poolclass=sa.pool.NullPool) if owner else db.engine
    with engine.begin() as conn:
        # A thread or process a failed test left holding a lock must not hang the run.
        conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
        conn.exec_driver_sql(f"TRUNCATE {', '.join(table_names())} RESTART IDENTITY CASCADE")


def delete_rows() -> None:
    """SQLite: without AUTOINCREMENT, rows are numbered from max(id) + 1, so ids restart too."""
    # Areas name their coordinator and users their municipality: cut the loop first.
    db.session.execute(sa.text("UPDATE areas SET coordinator_id = NULL"))
    for table in table_names():
        db.session.execute(sa.text(f"DELETE FROM {table}"))
    db.session.commit()


class JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, but on the connection it was given rather than the engine."""

    def get_bind(self, *args, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)


@pytest.fixture
def session(request, app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            delete_rows()
            yield db.session
            db.session.remove()
        elif request.node.get_closest_marker("real_commits"):
            yield db.session
            db.session.remove()
            truncate_tables()
        else:
            connection = db.engine.connect()
            outer = connection.begin()
            # One session per application context, as Flask-SQLAlchemy's own, all on the one
            # connection: a commit releases a savepoint, and the rollback below undoes it all.
            joined = scoped_session(
                sessionmaker(class_=JoinedSession, db=db, bind=connection,
                             join_transaction_mode="create_savepoint", query_cls=db.Query),
                scopefunc=lambda: id(app_ctx._get_current_object()))
            # Swapped by hand, not with monkeypatch: a test's monkeypatch.undo() must not
            # put the engine's session back in the middle of the test.
            engine_session, db.session = db.session, joined
            try:
                yield joined
            finally:
                db.session = engine_session
                joined.remove()
                outer.rollback()
                connection.close()


@pytest.fixture
def seeded(session):
    from caseapp.services.network.seed import seed_nankoku

    seed_nankoku(session)
    return session


class Api:
    """The test client with a bearer token and JSON by default."""

    def __init__(self, client, token: str | None = None):
        self.client = client
        self.token = token

    def as_(self, token: str | None) -> "Api":
        return Api(self.client, token)

    def _headers(self, headers):
        out = dict(headers or {})
        if self.token:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, json=None, **kw):
        logscan.note_request(path, json)
        return self.client.post(path, json=json, headers=self._headers(kw.pop("headers", None)),
                                **kw)

    def patch(self, path, json=None, **kw):
        logscan.note_request(path, json)
        return self.client.patch(path, json=json, headers=self._headers(kw.pop("headers", None)),
                                 **kw)

    def put(self, path, json=None, **kw):
        logscan.note_request(path, json)
        return self.client.put(path, json=json, headers=self._headers(kw.pop("headers", None)),
                               **kw)


@pytest.fixture
def tokens(seeded):
    from caseapp.services.core import auth

    made = {}
    for role in ("counter", "supervisor", "admin"):
        _user, made[role] = auth.create_user(seeded, f"{role}-1", role)
    for code in ("houkatsu", "jiritsu", "houterasu"):
        made[f"partner:{code}"] = auth.partner_token(seeded, code)
    return made


@pytest.fixture
def api(app, tokens):
    return Api(app.test_client(), tokens["counter"])


@pytest.fixture
def supervisor(api, tokens):
    return api.as_(tokens["supervisor"])


@pytest.fixture
def config(app):
    """The application's settings (caseapp.config.Config)."""
    return app.config["CASEAPP"]


@pytest.fixture
def recorder():
    """Delivery gateways that keep what they would send and send nothing."""
    from tests.services.delivery.helpers import recording

    return recording()


@pytest.fixture
def anon(app, session):
    return Api(app.test_client())


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of the test's own, running; the test may stop and start it."""
    from tests.private_redis import PrivateRedis

    need("redis-server", None if shutil.which("redis-server") else "not on PATH")
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def sink():
    """An HTTP server on 127.0.0.1 that records every webhook and answers as told."""
    server = Sink()
    yield server
    server.close()
