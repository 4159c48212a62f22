"""Rate limits: per token (or address when there is none), and harder on failed sign-ins.

Counters live in Redis when there is one, but Redis is never needed to answer a request: when it
cannot be reached the limits are counted in this process's memory (logged once per outage, and
Redis is tried again with a back-off), so an outage loosens the limits rather than failing intake.
"""

import hashlib
import logging
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter
from werkzeug.exceptions import TooManyRequests

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


def _auth_failures():
    limiter: Limiter = current_app.extensions["caseapp_limiter"]
    config: Config = current_app.config["CASEAPP"]
    return limiter, parse(config.ratelimit_auth_failures)


def _counted(limiter: Limiter, use):
    """Run ``use(strategy)`` on the shared counters, or on this process's when they are down."""
    try:
        return use(limiter.limiter)
    except Exception as exc:
        log.warning("rate limit storage unreachable (%s); counting failed sign-ins in-memory",
                    exc.__class__.__name__)
        strategy: RateLimiter = current_app.extensions["caseapp_auth_fallback"]
        return use(strategy)


def refuse_if_failing_too_often() -> None:
    """Stop guessing early: an address with too many failed sign-ins waits out the window."""
    limiter, item = _auth_failures()
    if not limiter.enabled:
        return
    address = request.remote_addr or "unknown"

    def check(strategy: RateLimiter):
        if strategy.test(item, "authfail", address):
            return None
        reset, _remaining = strategy.get_window_stats(item, "authfail", address)
        return reset

    reset = _counted(limiter, check)
    if reset is not None:
        exc = TooManyRequests(
            "認証の失敗が多すぎます。しばらく待ってください（too many failed sign-ins）")
        exc.retry_after = max(1, int(reset - time.time()))
        raise exc


def count_failure() -> None:
    limiter, item = _auth_failures()
    if limiter.enabled:
        address = request.remote_addr or "unknown"
        _counted(limiter, lambda strategy: strategy.hit(item, "authfail", address))
