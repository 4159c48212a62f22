"""Logs as JSON lines, one object per event, with the request id that caused it.

Nothing personal goes into a log line: request lines carry the route pattern (never the path
or query string, which can hold a name or a phone number), ids and timings; exceptions are
logged with their type and stack but without their message, which may quote data; SQL errors
never show bound values (``hide_parameters`` in :mod:`caseapp.config`).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str | None] = ContextVar("caseapp_request_id", default=None)
_HANDLER_MARK = "_caseapp_json"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def new_request_id(offered: str | None = None) -> str:
    """An id from a proxy's X-Request-ID when it looks like one, else a fresh one."""
    if offered and _SAFE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Stamps every record with the request id of the request or task being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class Formatter(JsonFormatter):
    def __init__(self, fmt: str = FIELDS, **kwargs):
        kwargs.setdefault("json_ensure_ascii", False)  # Japanese stays readable
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level",
                                            "name": "logger"})
        super().__init__(fmt, **kwargs)

    def formatException(self, ei) -> str:
        # The stack says where; the message could quote personal data, so it is left out.
        exc = traceback.TracebackException(*ei)
        return "".join(exc.stack.format()) + f"{exc.exc_type.__qualname__} (message withheld)"


def formatter() -> Formatter:
    return Formatter()


def handler(stream=None) -> logging.Handler:
    made = logging.StreamHandler(stream or sys.stderr)
    made.setFormatter(formatter())
    made.addFilter(RequestIdFilter())
    setattr(made, _HANDLER_MARK, True)
    return made


def configure(level: str | int = "INFO", stream=None) -> logging.Handler:
    """JSON to stderr from the root logger; replaces an earlier call's handler."""
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, _HANDLER_MARK, False)]
    made = handler(stream)
    root.addHandler(made)
    root.setLevel(level)
    return made


def gunicorn_config(level: str = "INFO") -> dict:
    """``logconfig_dict`` for gunicorn: its own lines as JSON too; no access log (see above)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "caseapp.services.ops.logs.formatter"}},
        "filters": {"request_id": {"()": "caseapp.services.ops.logs.RequestIdFilter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "filters": ["request_id"], "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": level,
                                       "propagate": False},
                    "gunicorn.access": {"handlers": [], "level": "CRITICAL",
                                        "propagate": False}},
    }
