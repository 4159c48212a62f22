"""Consultation events (相談会, 夜間相談会): the event, its queue, teams and the report."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp import rules
from caseapp.api.schemas.cases import CaseBrief
from caseapp.api.schemas.common import AwareDateTime, JapaneseDate, PageArgs, page_schema
from caseapp.api.schemas.referrals import ReferralBrief
from caseapp.models.events import TEAM_OUTCOMES

CODE = validate.Length(min=1, max=50)


class PartnerEntryIn(Schema):
    code = fields.String(required=True, validate=CODE)
    specialists = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                              validate=validate.Length(max=20), load_default=list)


class PartnerEntry(fields.Field):
    """A partner present: its code, or ``{"code": ..., "specialists": ["弁護士 1名"]}``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = {"code": value}
        if not isinstance(value, dict):
            raise ValidationError("連携機関コード、または {code, specialists} で指定してください")
        return PartnerEntryIn().load(value)


PARTNERS_DOC = {
    "description": "partners present: codes, or objects {code, specialists}",
    "example": ["jiritsu", {"code": "houterasu", "specialists": ["弁護士 1名"]}],
}


class EventIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    date = JapaneseDate(metadata={"description": "開催日; taken from starts_at when absent"})
    starts_at = AwareDateTime(allow_none=True)
    ends_at = AwareDateTime(allow_none=True)
    venue = fields.String(validate=validate.Length(max=200), allow_none=True)
    partners = fields.List(PartnerEntry(), validate=validate.Length(max=50), load_default=list,
                           metadata=PARTNERS_DOC)


class EventPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    date = JapaneseDate()
    starts_at = AwareDateTime(allow_none=True)
    ends_at = AwareDateTime(allow_none=True)
    venue = fields.String(validate=validate.Length(max=200), allow_none=True)
    partners = fields.List(PartnerEntry(), validate=validate.Length(max=50),
                           metadata=PARTNERS_DOC)


class PartnerPresentOut(Schema):
    code = fields.String()
    name = fields.String(allow_none=True)
    specialists = fields.List(fields.String())


class EventOut(Schema):
    id = fields.Integer()
    name = fields.String()
    date = fields.Date()
    starts_at = AwareDateTime(allow_none=True)
    ends_at = AwareDateTime(allow_none=True)
    venue = fields.String(allow_none=True)
    partners = fields.List(fields.String(), metadata={"description": "codes present"})
    partner_details = fields.List(fields.Nested(PartnerPresentOut))
    consultation_count = fields.Integer()
    created_at = AwareDateTime()


class EventListArgs(PageArgs):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")


class TeamBrief(Schema):
    """The on-the-spot team at an event (POST /consultations/{id}/team)."""

    partners = fields.List(fields.String())
    outcome = fields.String()
    note = fields.String()
    recorded_at = AwareDateTime()


class QueueItemOut(Schema):
    id = fields.Integer()
    received_at = AwareDateTime()
    anonymous = fields.Function(lambda c: c.client_id is None)
    client_id = fields.Integer(allow_none=True)
    client_name = fields.Function(lambda c: c.client.name if c.client else None)
    topics = fields.List(fields.String())
    urgency = fields.String()
    summary = fields.String()
    case_id = fields.Integer()
    case_status = fields.Function(lambda c: c.case.status)
    next_action_at = AwareDateTime(attribute="case.next_action_at", allow_none=True)
    team = fields.Nested(TeamBrief, allow_none=True)
    referrals = fields.List(fields.Nested(ReferralBrief))


class TeamIn(Schema):
    partners = fields.List(fields.String(validate=CODE), required=True,
                           validate=validate.Length(min=1, max=20),
                           metadata={"description": "codes, each present at the event"})
    outcome = fields.String(required=True, validate=validate.OneOf(TEAM_OUTCOMES))
    note = fields.String(validate=validate.Length(max=2000), load_default="")
    method = fields.String(validate=validate.OneOf(rules.METHODS), metadata={
        "description": "for `referred`: how the referrals go (default intro_letter)"})
    follow_up_at = AwareDateTime(metadata={
        "description": "for `follow_up`: when to follow up (default 2 business days)"})

    @validates_schema
    def fits_outcome(self, data, **kwargs):
        errors = {}
        if "method" in data and data.get("outcome") != "referred":
            errors["method"] = ["method は outcome が referred のときだけ指定できます"]
        if "follow_up_at" in data and data.get("outcome") != "follow_up":
            errors["follow_up_at"] = ["follow_up_at は outcome が follow_up のときだけ指定できます"]
        if errors:
            raise ValidationError(errors)


class TeamOut(TeamBrief):
    consultation_id = fields.Integer()
    event_id = fields.Function(lambda t: t.consultation.event_id)
    recorded_by_id = fields.Integer(allow_none=True)
    referrals = fields.Function(lambda t: ReferralBrief.dump(t.consultation.referrals,
                                                              many=True))
    new_referral_ids = fields.List(fields.Integer())
    case = fields.Function(lambda t: CaseBrief().dump(t.consultation.case))


class ReportArgs(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class _TopicCount(Schema):
    topic = fields.String()
    label = fields.String()
    count = fields.Integer()


class _PartnerCount(Schema):
    partner = fields.String()
    name = fields.String()
    present = fields.Boolean()
    team_consultations = fields.Integer()
    referrals = fields.Integer()
    open_referrals = fields.Integer()


class _ConsultationCounts(Schema):
    total = fields.Integer()
    named = fields.Integer()
    anonymous = fields.Integer()
    team_recorded = fields.Integer()
    still_open = fields.Integer()
    cases_closed = fields.Integer()


class _ReferralCounts(Schema):
    total = fields.Integer()
    from_routing = fields.Integer()
    from_team = fields.Integer()
    open = fields.Integer()
    consultations_with_referrals = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReportOut(Schema):
    event = fields.Dict()
    consultations = fields.Nested(_ConsultationCounts)
    by_topic = fields.List(fields.Nested(_TopicCount))
    by_outcome = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_partner = fields.List(fields.Nested(_PartnerCount))
    referrals = fields.Nested(_ReferralCounts)


EventPage = page_schema(EventOut, "EventPage")
QueuePage = page_schema(QueueItemOut, "EventQueuePage")


# The report's 200 answer in both forms; it replaces the one @blp.response would write.
REPORT_RESPONSES = {"200": {"description": "OK", "content": {
    "application/json": {"schema": ReportOut},
    "text/csv": {"schema": {"type": "string"}},
}}}
