"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built once per backend by the Alembic migrations; each test starts from empty
tables. Server-backed tests skip with a reason when the server is absent, except under CI=true
where a missing server is a failure.
"""

import os
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from caseapp import create_app
from caseapp.config import Config
from caseapp.extensions import db

PG_ADMIN_URL = os.environ.get("CASEAPP_TEST_POSTGRES",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CASEAPP_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


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
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'caseapp.sqlite3'}"
        return
    need("PostgreSQL", port_problem(PG_ADMIN_URL, 5432))
    name = f"caseapp_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # A UTF-8 ctype is what makes trigram search work on Japanese text.
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                             "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def make_config(database_url: str, instance: Path, **changes) -> Config:
    defaults = dict(instance_path=instance, database_url=database_url, broker_url="memory://",
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
    return app


def clear_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        # Without AUTOINCREMENT, SQLite numbers rows from max(id) + 1: ids restart at 1 too.
        for table in tables:
            db.session.execute(sa.text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture
def session(app):
    with app.app_context():
        clear_tables()
        yield db.session
        db.session.remove()


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
        return self.client.post(path, json=json, headers=self._headers(kw.pop("headers", None)),
                                **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch(path, json=json, headers=self._headers(kw.pop("headers", None)),
                                 **kw)

    def put(self, path, json=None, **kw):
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
def anon(app, session):
    return Api(app.test_client())
