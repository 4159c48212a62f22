"""Rate limits: per token (or address when there is none); failed sign-ins in caseapp.throttle.

Counters live in Redis when there is one, but Redis is never needed to answer a request: when it
cannot be reached the limits are counted in this process's memory (logged once per outage, and
Redis is tried again with a back-off), so an outage loosens the limits rather than failing intake.
"""

import hashlib
import logging

from flask import Flask, request
from flask_limiter import Limiter
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from caseapp.config import Config

log = logging.getLogger(__name__)


def client_key() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:24]
    return "addr:" + (request.remote_addr or "unknown")


def init(app: Flask, config: Config) -> Limiter:
    limiter = Limiter(key_func=client_key, app=app, default_limits=[config.ratelimit_default],
                      storage_uri=config.ratelimit_storage_uri, enabled=config.ratelimit_enabled,
                      headers_enabled=True, strategy="fixed-window",
                      key_prefix="caseapp-limits",
                      storage_options=_storage_options(config.ratelimit_storage_uri),
                      in_memory_fallback_enabled=True, swallow_errors=True)
    app.extensions["caseapp_limiter"] = limiter
    app.extensions["caseapp_auth_fallback"] = FixedWindowRateLimiter(MemoryStorage())
    return limiter


def _storage_options(uri: str) -> dict:
    # A Redis that hangs rather than refuses must not hold every request for long.
    if uri.startswith("redis"):
        return {"socket_connect_timeout": 1, "socket_timeout": 1}
    return {}
