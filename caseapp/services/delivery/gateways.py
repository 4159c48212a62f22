"""Channels that carry a referral to a partner, behind two small interfaces.

``WebhookGateway.post`` and ``MailGateway.send`` take a finished request (URL, signed body and
headers; an e-mail message) and report a ``SendResult``; they know nothing of the database.
The real ones talk to the network; the recording ones keep what they were given and answer as
told, so service tests need no mocks. Without an SMTP relay (the embedded default) mail is
written as one ``.eml`` file per message under ``instance/mail``, for a person to open or forward.
"""

from __future__ import annotations

import email.policy
import email.utils
import os
import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import httpcore

from caseapp.config import Config
from caseapp.services.delivery import netguard

MAX_RESPONSE_BYTES = 64 * 1024
MAX_RETRY_AFTER = 24 * 3600


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False  # retrying cannot help (410 Gone, a refused address, 5xx SMTP)
    gone: bool = False  # the endpoint said 410: disable it


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class MailRequest:
    to: str | tuple[str, ...]  # one address, or several for one message (staff notices)
    message: EmailMessage


class WebhookGateway(Protocol):
    def post(self, request: WebhookRequest) -> SendResult: ...


class MailGateway(Protocol):
    def send(self, request: MailRequest) -> SendResult: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (now if now is not None else time.time())
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class HttpWebhookGateway:
    """POST with httpcore: no redirects followed, no retries inside, bounded time and body."""

    def __init__(self, config: Config):
        self.connect_timeout = config.webhook_connect_timeout
        self.total_timeout = config.webhook_timeout
        self.allow_private = config.webhook_allow_private
        self.pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(), max_connections=20,
            keepalive_expiry=30.0, retries=0,
            network_backend=netguard.GuardedBackend(config.webhook_allow_private))

    def post(self, request: WebhookRequest) -> SendResult:
        problems = netguard.url_problems(request.url, self.allow_private)
        if problems:
            return SendResult(ok=False, error="; ".join(problems), permanent=True)
        headers = {"content-type": "application/json", "user-agent": "caseapp-webhooks/1",
                   **request.headers}
        timeouts = {"connect": self.connect_timeout, "read": self.total_timeout,
                    "write": self.total_timeout, "pool": self.connect_timeout}
        try:
            with netguard.deadline(self.total_timeout), self.pool.stream(
                    "POST", request.url, headers=list(headers.items()), content=request.body,
                    extensions={"timeout": timeouts}) as response:
                read = 0
                for chunk in response.iter_stream():  # drained so the connection can be reused
                    read += len(chunk)
                    if read > MAX_RESPONSE_BYTES:
                        break
                status = response.status
                retry_after = _header(response.headers, b"retry-after")
        except netguard.AddressRefused as exc:
            return SendResult(ok=False, error=f"refused: {exc}", permanent=True)
        except httpcore.TimeoutException as exc:
            return SendResult(ok=False, error=f"timeout: {exc.__class__.__name__} {exc}")
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            return SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}")
        if 200 <= status < 300:
            return SendResult(ok=True, status_code=status)
        if status == 410:
            return SendResult(ok=False, status_code=status, error="410 Gone", permanent=True,
                              gone=True)
        error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400
                                    else "")
        return SendResult(ok=False, status_code=status, error=error,
                          retry_after=parse_retry_after(retry_after))

    def close(self) -> None:
        self.pool.close()


def _header(headers, name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class SmtpMailGateway:
    """The one SMTP sender (partner e-mail, staff notices and alerts): one session per message
    through the configured relay."""

    def __init__(self, config: Config, *, timeout: float | None = None):
        self.host, self.port = config.smtp_host, config.smtp_port
        self.timeout = config.webhook_timeout if timeout is None else timeout

    def send(self, request: MailRequest) -> SendResult:
        if not self.host:
            return SendResult(ok=False, error="SMTP is not configured", permanent=True)
        to = [request.to] if isinstance(request.to, str) else list(request.to)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                refused = smtp.send_message(request.message, to_addrs=to)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            return SendResult(ok=False, status_code=code, error=f"recipient refused: {code}",
                              permanent=500 <= code < 600)
        except smtplib.SMTPResponseException as exc:
            return SendResult(ok=False, status_code=exc.smtp_code,
                              error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                              permanent=500 <= exc.smtp_code < 600)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            return SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}")
        if refused:
            return SendResult(ok=False, error=f"recipient refused: {refused}")
        return SendResult(ok=True, status_code=250)


class FileMailGateway:
    """Each message as one RFC 5322 file (``<Message-ID>.eml``, UTF-8 body) in ``folder``.

    Named by its Message-ID, so a retry of the same message rewrites its file rather than
    adding a second; written to a temporary name first so a reader never sees half a file.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, request: MailRequest) -> SendResult:
        message = request.message
        if message["Message-ID"] is None:
            message["Message-ID"] = email.utils.make_msgid(domain="caseapp")
        if message["Date"] is None:
            message["Date"] = email.utils.formatdate(localtime=False)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", message["Message-ID"].strip("<> "))[:150]
        path = self.folder / f"{name}.eml"
        temporary = self.folder / f".{name}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(message.as_bytes(policy=email.policy.SMTP))
            os.replace(temporary, path)
        except OSError as exc:
            return SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}")
        return SendResult(ok=True)


def mail_gateway(config: Config) -> MailGateway:
    """The one mail sender of this configuration: SMTP when a relay is set, else files."""
    if config.smtp_host:
        return SmtpMailGateway(config)
    return FileMailGateway(config.mail_folder)


@dataclass
class RecordingWebhookGateway:
    """Keeps every request; answers with ``responses`` in turn, then ``default``."""

    responses: list[SendResult] = field(default_factory=list)
    default: SendResult = field(default_factory=lambda: SendResult(ok=True, status_code=204))
    sent: list[WebhookRequest] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()

    def post(self, request: WebhookRequest) -> SendResult:
        with self._lock:
            self.sent.append(request)
            return self.responses.pop(0) if self.responses else self.default


@dataclass
class RecordingMailGateway:
    responses: list[SendResult] = field(default_factory=list)
    default: SendResult = field(default_factory=lambda: SendResult(ok=True, status_code=250))
    sent: list[MailRequest] = field(default_factory=list)

    def send(self, request: MailRequest) -> SendResult:
        self.sent.append(request)
        return self.responses.pop(0) if self.responses else self.default


@dataclass
class Gateways:
    webhook: WebhookGateway
    mail: MailGateway


_KEY = "caseapp.gateways"


def for_app(app) -> Gateways:
    """The app's gateways, made once per process (a pool must not cross a fork)."""
    found = app.extensions.get(_KEY)
    if found is None:
        config: Config = app.config["CASEAPP"]
        found = app.extensions[_KEY] = Gateways(HttpWebhookGateway(config),
                                                mail_gateway(config))
    return found


def install(app, gateways: Gateways | None) -> None:
    """Use these gateways in this app (tests); None goes back to the real ones."""
    if gateways is None:
        app.extensions.pop(_KEY, None)
    else:
        app.extensions[_KEY] = gateways


def mail_date(at: datetime) -> str:
    return email.utils.format_datetime(at.astimezone(UTC))
