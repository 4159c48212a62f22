"""The one place that reads the environment.

Everything else receives a ``Config`` (or the Flask config built from it), so tests and
the CLI can construct any configuration without touching ``os.environ``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

# Default delivery retry schedule: quick first retries, then hourly, then daily; about three
# days in all, so a partner's weekend outage does not fail a referral.
DEFAULT_RETRY_DELAYS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600,
                        24 * 3600)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _delays(value: str | None) -> tuple[int, ...]:
    if not value:
        return DEFAULT_RETRY_DELAYS
    delays = tuple(int(part) for part in value.split(",") if part.strip())
    if not delays or any(d < 0 for d in delays):
        raise ValueError("CASEAPP_RETRY_DELAYS must be comma-separated non-negative seconds")
    return delays


def _count(env, name: str, default: int, minimum: int = 0) -> int:
    value = env.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return number


@dataclass(frozen=True)
class Config:
    instance_path: Path = PROJECT_ROOT / "instance"
    database_url: str = ""
    # PostgreSQL: the schema owner's URL for migrations; the app connects as a role without
    # ownership, so row-level security applies to it. Empty: migrations use database_url.
    migration_database_url: str = ""
    broker_url: str = ""
    result_backend: str | None = None
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    # False when CASEAPP_BASE_URL was not set: links then follow the address being served.
    base_url_given: bool = False
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "caseapp@localhost"
    # Who refers, as printed on a 紹介状 (紹介元): the counter's name and how to reach it.
    counter_name: str = "福祉総合相談窓口"
    counter_contact: str | None = None
    webhook_allow_private: bool = False
    retry_delays: tuple[int, ...] = DEFAULT_RETRY_DELAYS
    sweep_seconds: float = 60.0
    # Reminders (督促・フォローアップ), counted in business days of the counter's calendar.
    partner_progress_days: int = 10
    client_followup_days: int = 5
    reminder_repeat_days: int = 2
    escalate_after: int = 2
    supervisor_email: str | None = None
    # Outbound webhook limits: connect, and the whole request including reading the answer.
    webhook_connect_timeout: float = 5.0
    webhook_timeout: float = 30.0
    max_content_length: int = 1024 * 1024
    # Residents served, for the national per-100,000 figures (南国市, about 46,000).
    population: int = 46000
    ratelimit_enabled: bool = True
    ratelimit_default: str = "600 per minute"
    ratelimit_auth_failures: str = "20 per 10 minutes"
    # Typing acknowledgement codes at /ack, per address: enough for a person, not for guessing.
    ratelimit_ack: str = "10 per minute; 60 per day"
    ratelimit_storage: str | None = None
    # Retention: a person whose cases are all closed, and who has had no consultation, for this
    # many years is made anonymous by the daily retention job.
    retention_years: int = 5
    # Where the processes of one host pool their Prometheus counters (PROMETHEUS_MULTIPROC_DIR);
    # None: each process counts for itself.
    metrics_dir: Path | None = None
    # Folder of pg_dump/pg_restore matching the server's major version; None: the PATH.
    pg_bin_dir: Path | None = None
    # The console signs a person out after this many minutes without a request.
    session_idle_minutes: int = 30
    log_level: str = "INFO"
    testing: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")

    @property
    def ratelimit_storage_uri(self) -> str:
        """Counters shared on Redis when there is one; per process on the embedded default."""
        if self.ratelimit_storage:
            return self.ratelimit_storage
        return self.broker_url if self.broker_url.startswith("redis") else "memory://"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def delivery_lease_seconds(self) -> float:
        """How long a claimed delivery is held before the sweeper assumes its worker died.

        Three times the send timeout plus room for bookkeeping, so a live worker is never
        overtaken; a short timeout (tests) gives a short lease.
        """
        return 3 * self.webhook_timeout + 10

    @property
    def requeue_after_seconds(self) -> float:
        """A due row already handed to the broker is not handed again for this long."""
        return max(5.0, 3 * self.sweep_seconds)

    def broker_folder(self) -> Path:
        return self.instance_path / "broker"

    @property
    def mail_folder(self) -> Path | None:
        """Where e-mail is written as .eml files when no SMTP relay is set; None with SMTP."""
        return None if self.smtp_host else self.instance_path / "mail"

    def served_at(self, host: str, port: int) -> str:
        """The base URL for links sent to partners by a server on ``host:port``.

        CASEAPP_BASE_URL wins (a proxy, a DNS name); otherwise the address being served, with
        the machine's name when it listens on every interface.
        """
        if self.base_url_given:
            return self.base_url
        if host in ("", "0.0.0.0", "::"):
            host = socket.getfqdn()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def control_socket(self, port: int) -> Path:
        """gunicorn's control socket: one per instance and port, never shared between them."""
        return self.instance_path / f"gunicorn-{port}.ctl"

    def with_(self, **changes) -> Config:
        return replace(self, **changes)

    def flask_mapping(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url),
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "TESTING": self.testing,
            "JSON_AS_ASCII": False,
            "API_TITLE": "caseapp",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api/v1",
            "OPENAPI_JSON_PATH": "openapi.json",
            "OPENAPI_SWAGGER_UI_PATH": "/docs",
            # Served from the package (caseapp/static/swagger-ui): LGWAN reaches no CDN, and
            # no validator badge is fetched from swagger.io either.
            "OPENAPI_SWAGGER_UI_URL": "/static/swagger-ui/",
            "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
            # The console's cookie; Secure is added per request when served over https.
            "SESSION_COOKIE_NAME": "caseapp_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            # The server ends an idle session; the cookie lives on for a working day so the
            # next visit can say why the person was signed out.
            "PERMANENT_SESSION_LIFETIME": max(self.session_idle_minutes * 60, 12 * 3600),
            # CSRF is checked by the web console's own hook: the API is token-based.
            "WTF_CSRF_CHECK_DEFAULT": False,
            "WTF_CSRF_TIME_LIMIT": None,
            "CASEAPP": self,
            **self.extra,
        }


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # A busy SQLite file makes writers wait rather than fail at once.
        return {"connect_args": {"timeout": 30, "check_same_thread": False},
                "hide_parameters": True}
    # Errors name the statement but never the values bound to it: those are personal data,
    # and an error's text ends up in a log line.
    return {"pool_pre_ping": True, "hide_parameters": True}


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the installed driver; plain URLs from hosting platforms name psycopg2.
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def from_env(environ: dict | None = None) -> Config:
    env = os.environ if environ is None else environ
    instance = Path(env.get("CASEAPP_INSTANCE_PATH") or PROJECT_ROOT / "instance")
    database_url = _psycopg(env.get("DATABASE_URL")
                            or f"sqlite:///{instance / 'caseapp.sqlite3'}")
    broker_url = env.get("CELERY_BROKER_URL") or "filesystem://"
    return Config(
        instance_path=instance,
        database_url=database_url,
        migration_database_url=_psycopg(env.get("CASEAPP_MIGRATION_DATABASE_URL") or ""),
        broker_url=broker_url,
        result_backend=env.get("CELERY_RESULT_BACKEND") or None,
        secret_key=env.get("SECRET_KEY") or _instance_secret(instance),
        base_url=(env.get("CASEAPP_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        base_url_given=bool(env.get("CASEAPP_BASE_URL")),
        smtp_host=env.get("SMTP_HOST") or None,
        smtp_port=int(env.get("SMTP_PORT") or 25),
        smtp_from=env.get("SMTP_FROM") or "caseapp@localhost",
        counter_name=env.get("CASEAPP_COUNTER_NAME") or "福祉総合相談窓口",
        counter_contact=env.get("CASEAPP_COUNTER_CONTACT") or None,
        ratelimit_ack=env.get("CASEAPP_RATELIMIT_ACK") or "10 per minute; 60 per day",
        webhook_allow_private=_bool(env.get("CASEAPP_WEBHOOK_ALLOW_PRIVATE")),
        retry_delays=_delays(env.get("CASEAPP_RETRY_DELAYS")),
        sweep_seconds=float(env.get("CASEAPP_SWEEP_SECONDS") or 60),
        population=int(env.get("CASEAPP_POPULATION") or 46000),
        ratelimit_default=env.get("CASEAPP_RATELIMIT") or "600 per minute",
        ratelimit_storage=env.get("CASEAPP_RATELIMIT_STORAGE") or None,
        partner_progress_days=_count(env, "CASEAPP_PARTNER_PROGRESS_DAYS", 10, 1),
        client_followup_days=_count(env, "CASEAPP_CLIENT_FOLLOWUP_DAYS", 5, 0),
        reminder_repeat_days=_count(env, "CASEAPP_REMINDER_REPEAT_DAYS", 2, 1),
        escalate_after=_count(env, "CASEAPP_ESCALATE_AFTER", 2, 1),
        supervisor_email=env.get("CASEAPP_SUPERVISOR_EMAIL") or None,
        webhook_timeout=_positive(env.get("CASEAPP_WEBHOOK_TIMEOUT"), 30.0,
                                  "CASEAPP_WEBHOOK_TIMEOUT"),
        retention_years=_count(env, "CASEAPP_RETENTION_YEARS", 5, 1),
        metrics_dir=_path(env.get("PROMETHEUS_MULTIPROC_DIR")),
        pg_bin_dir=_path(env.get("CASEAPP_PG_BIN")),
        session_idle_minutes=_count(env, "CASEAPP_SESSION_IDLE_MINUTES", 30, 1),
        log_level=(env.get("CASEAPP_LOG_LEVEL") or "INFO").upper(),
    )


def _path(value: str | None) -> Path | None:
    return Path(value) if value and value.strip() else None


def _positive(value: str | None, default: float, name: str) -> float:
    if not value:
        return default
    number = float(value)
    if number <= 0:
        raise ValueError(f"{name} must be a positive number of seconds")
    return number


def _instance_secret(instance: Path) -> str:
    """A per-installation secret for the embedded default, kept beside the SQLite file.

    Production sets SECRET_KEY; several processes of one embedded install must share one key,
    so it is generated once and stored rather than made per process.
    """
    import secrets

    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text().strip()
