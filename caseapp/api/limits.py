"""Rate limits: per token (or address when there is none), and harder on failed sign-ins."""

import hashlib
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse
from werkzeug.exceptions import TooManyRequests

from caseapp.config import Config


def client_key() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:24]
    return "addr:" + (request.remote_addr or "unknown")


def init(app: Flask, config: Config) -> Limiter:
    limiter = Limiter(key_func=client_key, app=app, default_limits=[config.ratelimit_default],
                      storage_uri=config.ratelimit_storage_uri, enabled=config.ratelimit_enabled,
                      headers_enabled=True, strategy="fixed-window",
                      key_prefix="caseapp-limits")
    app.extensions["caseapp_limiter"] = limiter
    return limiter


def _auth_failures():
    limiter: Limiter = current_app.extensions["caseapp_limiter"]
    config: Config = current_app.config["CASEAPP"]
    return limiter, parse(config.ratelimit_auth_failures)


def refuse_if_failing_too_often() -> None:
    """Stop guessing early: an address with too many failed sign-ins waits out the window."""
    limiter, item = _auth_failures()
    if not limiter.enabled:
        return
    address = request.remote_addr or "unknown"
    if not limiter.limiter.test(item, "authfail", address):
        reset, _remaining = limiter.limiter.get_window_stats(item, "authfail", address)
        exc = TooManyRequests(
            "認証の失敗が多すぎます。しばらく待ってください（too many failed sign-ins）")
        exc.retry_after = max(1, int(reset - time.time()))
        raise exc


def count_failure() -> None:
    limiter, item = _auth_failures()
    if limiter.enabled:
        limiter.limiter.hit(item, "authfail", request.remote_addr or "unknown")

