"""E-mail to staff behind a small interface: the configured mail sender, a recording one in tests.

Staff notices only need "send this subject and body to these addresses, with this
Message-ID"; the mail itself goes through the one mail sender that partner e-mail uses
(caseapp.services.delivery.gateways.mail_gateway: SMTP when configured, else .eml files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from flask import current_app

from caseapp.config import Config
from caseapp.services.delivery.gateways import MailGateway, MailRequest, mail_gateway

EXTENSION_KEY = "caseapp.notifier"


@dataclass(frozen=True)
class StaffMessage:
    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str


class NotifyError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Notifier(Protocol):
    def send(self, message: StaffMessage) -> None:
        """Hand the message over or raise NotifyError."""


class MailNotifier:
    def __init__(self, config: Config, mail: MailGateway | None = None):
        self.sender = config.smtp_from
        self.mail = mail or mail_gateway(config)

    def send(self, message: StaffMessage) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = ", ".join(message.to)
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        # Stable across retries, so a mail system can drop a repeat after a crash.
        email["Message-ID"] = f"<{message.message_id}@caseapp>"
        email.set_content(message.body)
        result = self.mail.send(MailRequest(to=message.to, message=email))
        if not result.ok:
            raise NotifyError(result.error or "mail failed", permanent=result.permanent)


@dataclass
class RecordingNotifier:
    """The null implementation for tests and demos: keeps what it was asked to send."""

    sent: list[StaffMessage] = field(default_factory=list)
    fail_with: NotifyError | None = None

    def send(self, message: StaffMessage) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)


def current() -> Notifier:
    installed = current_app.extensions.get(EXTENSION_KEY)
    if installed is not None:
        return installed
    return MailNotifier(current_app.config["CASEAPP"])
