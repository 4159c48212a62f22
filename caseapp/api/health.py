from flask_smorest import Blueprint
from sqlalchemy import text

from caseapp.api.auth import public
from caseapp.extensions import db
from caseapp.tasks import broker_ok

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        db.session.rollback()


def _state() -> tuple[dict, int]:
    """ok; degraded (200) with only the broker down, since the outbox keeps deliveries until it
    returns and intake needs the database alone; down (503) without the database."""
    database = _database_ok()
    broker = broker_ok()
    body = {"status": "ok" if database and broker else ("degraded" if database else "down"),
            "database": "ok" if database else "down", "broker": "ok" if broker else "down"}
    return body, 200 if database else 503


@blp.route("/health")
@public
def health():
    """State of the service, its database and its broker (the same answer as /health/ready)."""
    return _state()


@blp.route("/health/live")
@public
def live():
    """The process answers (nothing else is checked: restarting cannot fix a dependency)."""
    return {"status": "ok"}


@blp.route("/health/ready")
@public
def ready():
    """Ready for traffic: the database answers; the broker's state is reported too.

    A down broker does not make the API unready: intake still works and the outbox sends
    what waits once the broker is back (its state is in the body and in caseapp_broker_up).
    """
    return _state()
