"""Shapes of the referral loop: the partner's minimal view, status moves, the staff list.

The partner schemas list exactly the fields of docs/partner-view.md; a test holds the two
together, so a field added here without a decision about disclosure fails the build.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp.api.fields import AwareDateTime, PageArgs, page_schema
from caseapp.domain import workflow
from caseapp.models.referrals import STATUSES
from caseapp.models.types import utcnow
from caseapp.services.referrals import loop, partner_view

METHODS = ("info_only", "intro_letter", "accompany", "formal_request")
URGENCIES = ("normal", "urgent", "emergency")


# -- partner -----------------------------------------------------------------------------

class PartnerClientOut(Schema):
    name = fields.String()
    name_kana = fields.String(allow_none=True)


class PartnerContactOut(Schema):
    phone = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class PartnerHistoryOut(Schema):
    from_status = fields.String(allow_none=True)
    status = fields.String()
    at = AwareDateTime()
    by = fields.String(metadata={"description": "counter, partner or system"})
    note = fields.String(allow_none=True, metadata={"description": "only the partner's own"})


class PartnerReferralItem(Schema):
    id = fields.Integer()
    status = fields.String()
    method = fields.String()
    urgency = fields.String()
    reason = fields.String()
    topics = fields.List(fields.String())
    referred_at = AwareDateTime()
    status_at = AwareDateTime(allow_none=True)
    ack_due_at = AwareDateTime(allow_none=True)
    client = fields.Nested(PartnerClientOut, allow_none=True)
    next_statuses = fields.List(fields.String())


class PartnerReferralOut(PartnerReferralItem):
    basis = fields.String(allow_none=True, metadata={
        "description": "consent, life_safety, support_meeting or anonymous"})
    contact = fields.Nested(PartnerContactOut, allow_none=True)
    summary = fields.String(allow_none=True)
    withheld = fields.List(fields.String())
    outcome = fields.String(allow_none=True)
    outcome_note = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    history = fields.List(fields.Nested(PartnerHistoryOut))


class PartnerListArgs(PageArgs):
    status = fields.List(fields.String(validate=validate.OneOf(partner_view.VISIBLE_STATUSES)),
                         metadata={"description": "repeat to filter by several"})
    updated_since = AwareDateTime(
        metadata={"description": "only referrals changed at or after this time (polling)"})


class PartnerStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)
    reason = fields.String(validate=validate.Length(min=1, max=2000),
                           metadata={"description": "required for rejected"})
    outcome = fields.String(validate=validate.OneOf(workflow.OUTCOMES),
                            metadata={"description": "required for completed"})

    @validates_schema
    def matching_fields(self, data, **kwargs):
        status = data.get("status")
        errors = {}
        if status == "rejected" and not (data.get("reason") or "").strip():
            errors["reason"] = ["rejected には理由（reason）が必要です"]
        if status == "completed" and not data.get("outcome"):
            errors["outcome"] = [f"completed には結果（outcome）が必要です: "
                                 f"{', '.join(workflow.OUTCOMES)}"]
        if "outcome" in data and status != "completed":
            errors["outcome"] = ["outcome は completed のときだけ指定できます"]
        if "reason" in data and status not in ("rejected", "cancelled"):
            errors["reason"] = ["reason は rejected のときだけ指定できます（ほかは note へ）"]
        if errors:
            raise ValidationError(errors)


PartnerReferralPage = page_schema(PartnerReferralItem, "PartnerReferralPage")


# -- staff -------------------------------------------------------------------------------

class StaffReferralOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    consultation_id = fields.Integer(allow_none=True)
    partner = fields.Function(lambda r: r.partner.code)
    status = fields.String()
    method = fields.String()
    urgency = fields.String()
    reason = fields.String()
    legal_basis = fields.String(allow_none=True)
    rule_id = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    outcome_note = fields.String(allow_none=True)
    status_reason = fields.String(allow_none=True)
    status_at = AwareDateTime(allow_none=True)
    ack_due_at = AwareDateTime(allow_none=True)
    overdue = fields.Function(lambda r: loop.is_overdue(r, utcnow()))
    handled_at = AwareDateTime(allow_none=True)
    handled_note = fields.String(allow_none=True)
    created_at = AwareDateTime()
    updated_at = AwareDateTime()


class StaffReferralListArgs(PageArgs):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)),
                         metadata={"description": "repeat to filter by several"})
    partner = fields.String(validate=validate.Length(min=1, max=50))
    case_id = fields.Integer(validate=validate.Range(min=1))
    overdue = fields.Boolean(metadata={
        "description": "true: the partner has not answered within its ack SLA "
                       "(requested/sent not received, or received not accepted/rejected)"})
    open_before = fields.Date(metadata={
        "description": "still open and made before this date (Asia/Tokyo)"})


class ManualReferralIn(Schema):
    case_id = fields.Integer(required=True, validate=validate.Range(min=1))
    partner = fields.String(required=True, validate=validate.Length(min=1, max=50))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    consultation_id = fields.Integer(validate=validate.Range(min=1))
    exception = fields.String(validate=validate.OneOf(loop.EXCEPTIONS), metadata={
        "description": "a recorded legal exception when there is no consent: life_safety "
                       "(個人情報保護法 §27(1)) or support_meeting (支援会議)"})


class ReferralCancelIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReferralHandledIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AckLinkOut(Schema):
    referral_id = fields.Integer()
    partner = fields.String()
    status = fields.String()
    used = fields.Boolean()
    can_acknowledge = fields.Boolean()
    expires_at = AwareDateTime()
    inbox_url = fields.String()


StaffReferralPage = page_schema(StaffReferralOut, "StaffReferralPage")
