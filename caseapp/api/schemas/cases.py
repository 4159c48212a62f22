"""Support cases (支援ケース)."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime, PageArgs, page_schema
from caseapp.api.schemas.emergencies import EmergencyOut
from caseapp.api.schemas.referrals import ReferralBrief


class TransferOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    client_id = fields.Integer(allow_none=True)
    from_ = fields.Function(lambda t: {"code": t.from_code, "name": t.from_name},
                            data_key="from")
    to = fields.Function(lambda t: {"code": t.to_code, "name": t.to_name})
    consent_method = fields.String()
    consent_given_at = AwareDateTime()
    note = fields.String()
    by = fields.String(attribute="by_label")
    at = AwareDateTime()


TransferPage = page_schema(TransferOut, "TransferPage")


class TransferConsentIn(Schema):
    method = fields.String(required=True, validate=validate.OneOf(("written", "oral",
                                                                    "electronic")))
    given_at = AwareDateTime(required=True)


class TransferIn(Schema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={
        "description": "the new municipality's national local-government code"})
    consent = fields.Nested(TransferConsentIn, required=True, metadata={
        "description": "the person's consent to the handover"})
    note = fields.String(validate=validate.Length(max=2000))


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
    transfers = fields.List(fields.Nested(TransferOut))


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
