from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.alerts import AlertListArgs, AlertOut, AlertPage
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.casework import alerts

blp = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts",
                description="職員への通知 (failed referrals, disabled partner endpoints)")


@blp.route("", methods=["GET"])
@blp.arguments(AlertListArgs, location="query")
@blp.response(200, AlertPage)
@requires(Permission.ALERTS_READ)
def listing(args):
    """Alerts addressed to the caller or to the caller's role, newest first."""
    return alerts.listing(db.session, current_actor(), unread=args["unread"],
                          page=args["page"], per_page=args["per_page"])


@blp.route("/<int:alert_id>/read", methods=["POST"])
@blp.response(200, AlertOut)
@requires(Permission.ALERTS_READ)
def mark_read(alert_id):
    """Mark an alert as read."""
    return alerts.mark_read(db.session, current_actor(), alert_id)
