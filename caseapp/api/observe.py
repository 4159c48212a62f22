"""Per request: an id, one JSON log line and the latency metric (no personal data in either)."""

import logging
import time

from flask import Flask, g, request

from caseapp.services.ops import logs, metrics

log = logging.getLogger("caseapp.request")
INTAKE_ENDPOINT = "consultations.create"


def install(app: Flask) -> None:
    # Registered before the auth hook, so a refused request has an id and a line too.
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)


def _start() -> None:
    g.request_id = logs.new_request_id(request.headers.get("X-Request-ID"))
    g.request_id_token = logs.request_id.set(g.request_id)
    g.started = time.perf_counter()


def _finish(response):
    started = g.pop("started", None)
    if started is None:
        return response
    seconds = time.perf_counter() - started
    # The rule's pattern (/api/v1/clients/<int:client_id>), never the path or query string.
    route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    actor = g.get("actor")
    log.info("request", extra={
        "request_id": g.request_id, "user_id": actor.user_id if actor else None,
        "role": actor.role if actor else None, "method": request.method, "route": route,
        "status": response.status_code, "duration_ms": round(seconds * 1000, 1)})
    metrics.observe_request(route, request.method, response.status_code, seconds)
    if request.endpoint == INTAKE_ENDPOINT and response.status_code == 201:
        metrics.record_intake()
    response.headers["X-Request-ID"] = g.request_id
    return response


def _forget(_exc) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        logs.request_id.reset(token)
