"""Support cases (支援ケース)."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime, PageArgs, page_schema
from caseapp.api.schemas.emergencies import EmergencyOut
from caseapp.api.schemas.referrals import ReferralBrief


class CaseBrief(Schema):
    emergency = fields.Nested(EmergencyOut, allow_none=True, metadata={
        "description": "the latest emergency of an open case (listed first); null else"})
    id = fields.Integer()
    status = fields.String()
    owner_id = fields.Integer(allow_none=True)
    next_action = fields.String(allow_none=True)
    next_action_at = AwareDateTime(allow_none=True)
    household_id = fields.Integer(allow_none=True)


class CaseOut(CaseBrief):
    client_id = fields.Integer(allow_none=True)
    created_at = AwareDateTime()
    closed_at = AwareDateTime(allow_none=True)
    consultation_ids = fields.Function(lambda c: [x.id for x in c.consultations])
    referrals = fields.List(fields.Nested(ReferralBrief))


class CasePatch(Schema):
    owner_id = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    next_action = fields.String(allow_none=True, validate=validate.Length(max=2000))
    next_action_at = AwareDateTime(allow_none=True)
    status = fields.String(validate=validate.OneOf(("open", "closed")))
    household_id = fields.Integer(allow_none=True, validate=validate.Range(min=1))


class CaseListArgs(PageArgs):
    lost = fields.Boolean(load_default=False)
    status = fields.String(validate=validate.OneOf(("open", "closed")))


CasePage = page_schema(CaseBrief, "CasePage")
