from flask_smorest import Blueprint
from sqlalchemy import text

from caseapp.api.auth import public
from caseapp.extensions import db
from caseapp.tasks import broker_ok

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


@blp.route("/health")
@public
def health():
    """State of the service, its database and its broker."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        database = "down"
    broker = "ok" if broker_ok() else "down"
    status = "ok" if database == "ok" else "degraded"
    # A down broker degrades nothing essential: the outbox holds deliveries until it returns.
    code = 200 if database == "ok" else 503
    return {"status": status, "database": database, "broker": broker}, code
