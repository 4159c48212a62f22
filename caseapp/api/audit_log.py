from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.audit import AuditArgs, AuditPage
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.core import audit_queries

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit",
                description="監査ログ: who read or changed personal data")


@blp.route("", methods=["GET"])
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditPage)
@requires(Permission.AUDIT_READ)
def listing(args):
    """Audit entries, newest first; filter by resource, actor, outcome and time."""
    page = audit_queries.search(db.session, current_actor(), args)
    return page
