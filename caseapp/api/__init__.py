"""The HTTP layer: thin views that turn JSON into service calls and back."""

import logging

from flask import Flask
from flask_smorest import Api
from sqlalchemy.exc import OperationalError

from caseapp.api import auth, errors

log = logging.getLogger(__name__)


def register_api(app: Flask) -> Api:
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "caseapp — 断らない・迷子にさせない one-stop counter API"},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    })
    api = Api(app)
    from caseapp.api import cases, clients, consultations, health, households, rules

    for module in (health, clients, consultations, cases, rules, households):
        api.register_blueprint(module.blp)
    errors.register(app)
    app.register_error_handler(OperationalError, _database_down)
    app.before_request(auth.check_request)
    app.after_request(_no_store)
    return api


def _database_down(exc: OperationalError):
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return errors.problem(503, "Service Unavailable",
                          "データベースに接続できません（database unavailable）",
                          headers={"Retry-After": "5"})


def _no_store(response):
    # Responses may carry personal data; no shared or browser cache may keep them.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
