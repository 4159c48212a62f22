"""Staff alerts (職員への通知): failed referrals, disabled partner endpoints."""

from marshmallow import Schema, fields

from caseapp.api.schemas.common import AwareDateTime, PageArgs, page_schema


class AlertOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    referral_id = fields.Integer(allow_none=True)
    partner = fields.Function(lambda a: a.partner.code if a.partner else None, allow_none=True)
    user_id = fields.Integer(allow_none=True)
    role = fields.String(allow_none=True)
    created_at = AwareDateTime()
    read_at = AwareDateTime(allow_none=True)
    mail_state = fields.String()


class AlertListArgs(PageArgs):
    unread = fields.Boolean(load_default=False)


AlertPage = page_schema(AlertOut, "AlertPage")
