"""Failed sign-ins, counted per address for API tokens and console passwords alike.

Shared by the API and the web console so that guessing one way also slows guessing the other.
Counters live with the app's limiter (Redis when there is one); when its storage cannot be
reached they are counted in this process's memory rather than failing the request.
"""

import logging
import time

from flask import current_app, request
from flask_limiter import Limiter
from limits import parse
from limits.strategies import RateLimiter
from werkzeug.exceptions import TooManyRequests

from caseapp.config import Config

log = logging.getLogger(__name__)


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
