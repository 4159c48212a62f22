"""Referrals (つなぎ) as staff see them, as a partner sees its own, and the e-mail ack link.

The partner schemas list exactly the fields of docs/partner-view.md; a test holds the two
together, so a field added here without a decision about disclosure fails the build.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp import rules
from caseapp.api.schemas.common import AwareDateTime, PageArgs, ViewSchema, page_schema
from caseapp.domain import partner_view, workflow
from caseapp.domain.vocab import SafetyReviewOutcome, values
from caseapp.models.referrals import STATUSES
from caseapp.models.types import utcnow
from caseapp.services.referrals import consent_gate, loop

# -- staff -------------------------------------------------------------------------------


class HistoryOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.String(attribute="actor_label")
    note = fields.String(allow_none=True)
    at = AwareDateTime()


class AttemptOut(Schema):
    at = AwareDateTime()
    succeeded = fields.Boolean()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()


class DeliveryOut(Schema):
    id = fields.Integer()
    channel = fields.String()
    event_type = fields.String()
    message_id = fields.String(metadata={"description": "webhook-id / Message-ID, stable"})
    state = fields.String()
    attempt_count = fields.Integer(attribute="attempts")
    next_attempt_at = AwareDateTime(allow_none=True)
    delivered_at = AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptOut), attribute="attempt_rows")


class DisclosureOut(Schema):
    at = AwareDateTime()
    partner = fields.Function(lambda d: d.partner.code)
    channel = fields.String()
    actor = fields.String(attribute="actor_label")
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    basis = fields.String()


class WaitingReasonOut(Schema):
    code = fields.String(metadata={
        "description": "no_consent, consent_not_in_force, consent_not_partner, "
                       "consent_not_sensitive, meeting_not_covering, meeting_not_recorded, "
                       "use_stopped, basis_available"})
    message = fields.String(metadata={"description": "why it waits and what to do, in Japanese"})


class SafetyReviewOut(Schema):
    reason = fields.String(metadata={"description": "why staff shared without consent"})
    invoked_by = fields.String(attribute="invoked_by_label")
    invoked_at = AwareDateTime()
    reviewed_at = AwareDateTime(allow_none=True)
    reviewed_by = fields.String(attribute="reviewed_by_label", allow_none=True)
    outcome = fields.String(allow_none=True, metadata={
        "description": "appropriate or not_appropriate; null until a supervisor reviews"})
    note = fields.String(allow_none=True)


_BRIEF = ("id", "partner", "status", "method", "reason", "urgency", "legal_basis",
          "waiting_reason")


class StaffReferral(ViewSchema):
    """Every field staff may see of a referral; each answer shows one view of it."""

    VIEWS = {
        # Beside something else: a consultation's, a case's or a team's referrals.
        "brief": _BRIEF,
        # Following the loop: the list and the actions on it (due, overdue, handled).
        "loop": ("id", "case_id", "consultation_id", "partner", "status", "method", "urgency",
                 "reason", "legal_basis", "rule_id", "outcome", "outcome_note",
                 "status_reason", "status_at", "ack_due_at", "overdue", "handled_at",
                 "handled_note", "created_at", "updated_at", "waiting_reason", "life_safety"),
        # One referral and what happened to it: history, deliveries and disclosures.
        "delivery": (*_BRIEF, "case_id", "consultation_id", "rule_id", "outcome",
                     "outcome_note", "created_at", "updated_at", "history", "deliveries",
                     "disclosures", "life_safety"),
    }

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
    history = fields.List(fields.Nested(HistoryOut))
    deliveries = fields.List(fields.Nested(DeliveryOut))
    disclosures = fields.List(fields.Nested(DisclosureOut))
    waiting_reason = fields.Function(
        lambda r: consent_gate.waiting_reason(r, utcnow()),
        metadata={"description": "while awaiting_consent: why it waits ({code, message}); "
                                 "null otherwise"})
    life_safety = fields.List(fields.Nested(SafetyReviewOut), attribute="safety_reviews",
                              metadata={"description": "each time it was sent on life_safety "
                                                       "(§27(1)(ii)) and the supervisor's review"})


ReferralBrief = StaffReferral(view="brief")
ReferralLoopOut = StaffReferral(view="loop")
ReferralDeliveryOut = StaffReferral(view="delivery")


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
    method = fields.String(required=True, validate=validate.OneOf(rules.METHODS))
    urgency = fields.String(validate=validate.OneOf(rules.URGENCIES))
    consultation_id = fields.Integer(validate=validate.Range(min=1))
    exception = fields.String(validate=validate.OneOf(loop.EXCEPTIONS), metadata={
        "description": "a legal exception when there is no consent: life_safety "
                       "(個人情報保護法 §27(1)(ii); needs exception_reason) or support_meeting "
                       "(支援会議; needs meeting_id)"})
    exception_reason = fields.String(validate=validate.Length(min=1, max=2000), metadata={
        "description": "required with life_safety: why life or body is at risk and consent "
                       "cannot be obtained"})
    meeting_id = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "required with support_meeting: the recorded meeting of this case"})


class LifeSafetyIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "why life or body is at risk and consent is hard to obtain"})


class SafetyReviewIn(Schema):
    outcome = fields.String(required=True,
                            validate=validate.OneOf(values(SafetyReviewOutcome)))
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReferralCancelIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReferralHandledIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


StaffReferralPage = page_schema(ReferralLoopOut, "StaffReferralPage")


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
        "description": "consent, life_safety, support_meeting, anonymous, or use_stopped "
                       "while the person has stopped the use of their data"})
    contact = fields.Nested(PartnerContactOut, allow_none=True)
    summary = fields.String(allow_none=True)
    withheld = fields.List(fields.String())
    outcome = fields.String(allow_none=True)
    outcome_note = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    history = fields.List(fields.Nested(PartnerHistoryOut))


class InboxListArgs(PageArgs):
    """Filters of a partner's inbox (its own referrals)."""

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


# -- the acknowledgement link in a partner's e-mail --------------------------------------

class AckLinkOut(Schema):
    referral_id = fields.Integer()
    partner = fields.String()
    status = fields.String()
    used = fields.Boolean()
    can_acknowledge = fields.Boolean()
    expires_at = AwareDateTime()
    inbox_url = fields.String()
