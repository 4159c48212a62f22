"""The legal basis for sharing: consents (情報共有の同意) and support meetings (支援会議)."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime
from caseapp.api.schemas.referrals import ReferralBrief

CONSENT_METHODS = ("written", "oral", "electronic")


class ConsentIn(Schema):
    scope = fields.String(required=True, validate=validate.OneOf(("network", "partners")))
    partners = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                           load_default=list)
    purposes = fields.List(fields.String(validate=validate.Length(max=200)), load_default=list)
    method = fields.String(required=True, validate=validate.OneOf(CONSENT_METHODS))
    given_at = AwareDateTime(required=True)
    expires_at = AwareDateTime(allow_none=True)
    covers_sensitive = fields.Boolean(load_default=False)


class ConsentOut(Schema):
    id = fields.Integer()
    scope = fields.String()
    partners = fields.List(fields.String())
    purposes = fields.List(fields.String())
    method = fields.String()
    given_at = AwareDateTime()
    expires_at = AwareDateTime(allow_none=True)
    withdrawn_at = AwareDateTime(allow_none=True)
    covers_sensitive = fields.Boolean()


class ConsentGivenOut(ConsentOut):
    client_id = fields.Integer()
    released_referrals = fields.List(fields.Nested(ReferralBrief))


class ConsentWithdrawnOut(ConsentOut):
    client_id = fields.Integer()
    returned_referrals = fields.List(fields.Nested(ReferralBrief))


class SupportMeetingIn(Schema):
    law = fields.String(required=True, metadata={
        "description": "seikatsu_konkyu_9 (生活困窮者自立支援法 §9) or "
                       "shakai_fukushi_106_6 (社会福祉法 §106-6)"})
    meeting_date = fields.Date(required=True)
    partners = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                           required=True, validate=validate.Length(min=1, max=50),
                           metadata={"description": "codes of the partners at the meeting"})
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))


class SupportMeetingOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    law = fields.String()
    meeting_date = fields.Date()
    partners = fields.List(fields.String())
    note = fields.String(allow_none=True)
    recorded_by_id = fields.Integer(allow_none=True)
    created_at = AwareDateTime()
    released_referrals = fields.List(fields.Nested(ReferralBrief))
