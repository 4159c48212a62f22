"""Reminders (督促・フォローアップ): due, sent and withdrawn."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime, PageArgs, page_schema
from caseapp.models.reminders import REMINDER_KINDS, REMINDER_STATUSES


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
