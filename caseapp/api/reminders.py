from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from caseapp.api.auth import current_actor, requires
from caseapp.api.fields import AwareDateTime, PageArgs, page_schema
from caseapp.extensions import db
from caseapp.models.reminders import REMINDER_KINDS, REMINDER_STATUSES
from caseapp.permissions import Permission
from caseapp.services.casework import reminders

blp = Blueprint("reminders", __name__, url_prefix="/api/v1/reminders",
                description="督促・フォローアップ")


class ReminderListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(REMINDER_STATUSES))
    kind = fields.String(validate=validate.OneOf(REMINDER_KINDS))
    case_id = fields.Integer(validate=validate.Range(min=1))
    referral_id = fields.Integer(validate=validate.Range(min=1))
    mine = fields.Boolean(load_default=False)


class ReminderDeliveryOut(Schema):
    channel = fields.String()
    state = fields.String()


class ReminderOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    case_id = fields.Integer()
    referral_id = fields.Integer(allow_none=True)
    partner = fields.Function(lambda r: r.referral.partner.code if r.referral else None)
    stage = fields.String(allow_none=True)
    seq = fields.Integer()
    escalates = fields.String(allow_none=True)
    due_at = AwareDateTime()
    sent_at = AwareDateTime(allow_none=True)
    withdrawn_at = AwareDateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)
    notice_state = fields.Function(lambda r: r.notice.state if r.notice else None)
    deliveries = fields.List(fields.Nested(ReminderDeliveryOut))


ReminderPage = page_schema(ReminderOut, "ReminderPage")


@blp.route("", methods=["GET"])
@blp.arguments(ReminderListArgs, location="query")
@blp.response(200, ReminderPage)
@requires(Permission.REMINDERS_READ)
def listing(args):
    """Reminders: due, sent and withdrawn; filter by status, kind, case, referral or `mine`."""
    page, per_page = args.pop("page"), args.pop("per_page")
    items, total = reminders.listing(db.session, current_actor(), page=page, per_page=per_page,
                                     **args)
    db.session.commit()
    return {"items": items, "total": total, "page": page, "per_page": per_page}
