"""The HTTP layer: thin views that turn JSON into service calls and back."""

import logging

from apispec.ext.marshmallow import resolver as class_name
from flask import Flask, request
from flask_smorest import Api
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.routing import IntegerConverter

from caseapp.api import auth, errors, limits, observe
from caseapp.api.answer_json import AnswerJSON
from caseapp.api.openapi import DocumentedPlugin
from caseapp.api.schemas.common import ProblemSchema, ViewSchema
from caseapp.extensions import db
from caseapp.services.core import scope

log = logging.getLogger(__name__)


class ProblemApi(Api):
    """Documents every error response as problem+json, the shape the handlers really send."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = errors.PROBLEM
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = content_type


def component_name(schema) -> str:
    """Each view of a schema (``only=``) is its own component; others keep their class name."""
    if isinstance(schema, ViewSchema):
        return schema.component_name
    return class_name(schema)


def register_api(app: Flask) -> Api:
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "caseapp — 断らない・迷子にさせない one-stop counter API"},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    })
    app.url_map.converters["int"] = DatabaseId
    app.json = AnswerJSON(app)
    api = ProblemApi(app, spec_kwargs={
        "marshmallow_plugin": DocumentedPlugin(schema_name_resolver=component_name)})
    limiter = limits.init(app, app.config["CASEAPP"])
    from caseapp.api import (
        ack,
        alerts,
        audit_log,
        cases,
        clients,
        community,
        consents,
        consultations,
        events,
        health,
        households,
        metrics,
        partner_inbox,
        partners,
        referral_delivery,
        referral_letter,
        referral_loop,
        reminders,
        reports,
        rights,
        rules,
    )

    for module in (health, clients, consultations, cases, rules, referral_loop,
                   referral_delivery, referral_letter, partner_inbox, ack, partners, consents,
                   alerts, events, reports, audit_log, reminders, households, rights, community):
        api.register_blueprint(module.blp)
    app.register_blueprint(metrics.bp)
    limiter.exempt(health.blp)
    limiter.exempt(metrics.bp)
    errors.register(app)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(DataError, _out_of_range)
    app.register_error_handler(OverflowError, _out_of_range)
    observe.install(app)
    app.before_request(auth.check_request)
    app.teardown_request(_end_session)
    app.after_request(_security_headers)
    return api


class DatabaseId(IntegerConverter):
    """Ids in paths are row ids: beyond a 32-bit integer there is no such row (404), not a crash."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _out_of_range(exc: Exception):
    # A number the database cannot hold came in through a field without its own bound.
    log.info("value out of range: %s", exc.__class__.__name__)
    return errors.problem(422, "数値が大きすぎるなど、扱えない値が含まれています"
                               "（value out of range）")


def _end_session(_exc):
    # Each request ends its transaction, whatever happened: an error never leaves pending
    # changes or an aborted transaction for whatever runs next in the same app context.
    db.session.rollback()
    scope.leave(db.session)


def _database_down(exc: OperationalError):
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return errors.problem(503, "データベースに接続できません（database unavailable）",
                          headers={"Retry-After": "5"})


def _security_headers(response):
    # Responses may carry personal data; no shared or browser cache may keep them.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if request.blueprint != "api-docs":  # the docs page loads Swagger UI's scripts
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'none'; frame-ancestors 'none'")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
