"""/metrics for Prometheus, and the probes at the root (/health/live, /health/ready).

Metrics are not public: a scraper on the same host (loopback, not forwarded by a proxy) or a
bearer token whose role may read metrics.
"""

import ipaddress

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import Forbidden, Unauthorized

from caseapp.api import health
from caseapp.api.auth import public
from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.permissions import Permission, has_permission
from caseapp.services.core import auth as auth_service
from caseapp.services.ops import metrics as ops_metrics
from caseapp.tasks import broker_ok, queue_length

bp = Blueprint("ops", __name__)
bp.add_url_rule("/health/live", view_func=health.live, endpoint="live")
bp.add_url_rule("/health/ready", view_func=health.ready, endpoint="ready")


def _local() -> bool:
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False  # came through a proxy on this host: the real caller is elsewhere
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _allow() -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not token.strip():
        if _local():
            return
        exc = Unauthorized("メトリクスの取得には権限のあるトークンが必要です "
                           "(a token that may read metrics, or a local scraper)")
        exc.www_authenticate = None
        raise exc
    user = auth_service.authenticate(db.session, token.strip()) if scheme.lower() == "bearer" \
        else None
    if user is None:
        exc = Unauthorized("トークンが無効です（invalid or revoked token）")
        exc.www_authenticate = None
        raise exc
    if not has_permission(user.role, Permission.METRICS_READ):
        raise Forbidden(f"メトリクスの取得は {user.role} には許可されていません "
                        f"(needs {Permission.METRICS_READ})")


@bp.route("/metrics")
@public  # checked by _allow: local scraper or a token with the metrics permission
def metrics():
    _allow()
    figures = ops_metrics.snapshot(db.session, utcnow())
    db.session.rollback()
    config = current_app.config["CASEAPP"]
    body = ops_metrics.render(config, figures, queue_length=queue_length(),
                              broker_up=broker_ok())
    return Response(body, mimetype=ops_metrics.CONTENT_TYPE_LATEST)
