from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.reminders import ReminderListArgs, ReminderPage
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.casework import reminders

blp = Blueprint("reminders", __name__, url_prefix="/api/v1/reminders",
                description="督促・フォローアップ")


@blp.route("", methods=["GET"])
@blp.arguments(ReminderListArgs, location="query")
@blp.response(200, ReminderPage)
@requires(Permission.REMINDERS_READ)
def listing(args):
    """Reminders: due, sent and withdrawn; filter by status, kind, case, referral or `mine`."""
    page, per_page = args.pop("page"), args.pop("per_page")
    return reminders.listing(db.session, current_actor(), page=page, per_page=per_page, **args)
