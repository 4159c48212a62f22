"""The community layer: areas, members, the watch list and visits, meetings, plans, the queue."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp import rules
from caseapp.api.schemas.common import AwareDateTime, JapaneseDate, PageArgs, page_schema
from caseapp.api.schemas.consents import CONSENT_METHODS
from caseapp.domain.community import (
    EVALUATION_BY_LABEL,
    EVALUATION_LABELS,
    LEVEL_LABELS,
    MEMBER_ROLE_LABELS,
    AreaLevel,
    Evaluation,
    MeetingKind,
    MemberRole,
    TaskKind,
    TaskStatus,
    VisitStatus,
    WatchBasis,
)
from caseapp.domain.vocab import values

CODE = validate.Length(min=1, max=40)
ROLES = values(MemberRole)
STAFF_ONLY = "staff only: a community member's answer leaves it out"


# --------------------------------------------------------------------------- areas


class AreaListArgs(PageArgs):
    level = fields.String(validate=validate.OneOf(values(AreaLevel)))
    under = fields.String(validate=CODE, metadata={"description": "an area code: it and below"})
    per_page = fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))


class AreaOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    level_label = fields.Function(lambda a: LEVEL_LABELS.get(a.level, a.level))
    parent = fields.Function(lambda a: a.parent.code if a.parent else None)
    hub = fields.String(allow_none=True)
    visit_interval_days = fields.Integer(allow_none=True)
    meetings_per_year = fields.Integer(allow_none=True)
    meeting_due_at = AwareDateTime(allow_none=True, metadata={
        "description": "when the next meeting is owed (business morning after the due day)"})
    address_keys = fields.Function(lambda a: [k.key for k in a.address_keys])


AreaPage = page_schema(AreaOut, "AreaPage")


# --------------------------------------------------------------------------- members


class MemberListArgs(PageArgs):
    area = fields.String(validate=CODE)


class MemberOut(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    role_label = fields.Function(lambda m: MEMBER_ROLE_LABELS.get(m.role, m.role))
    area = fields.Function(lambda m: m.area.code)
    term_from = fields.Date()
    term_to = fields.Date(allow_none=True)


MemberPage = page_schema(MemberOut, "MemberPage")


# --------------------------------------------------------------------------- watch list


class BasisIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(values(WatchBasis)))
    scope = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(min=1, max=len(ROLES)), metadata={
                            "description": "member roles the basis lets see the person"})
    method = fields.String(validate=validate.OneOf(CONSENT_METHODS),
                           metadata={"description": "consent: how it was given"})
    given_at = AwareDateTime(metadata={"description": "consent: when"})
    provision = fields.String(validate=validate.Length(min=1, max=500), metadata={
        "description": "evacuation_register: the register and the provision it was given under",
        "example": "日高村避難行動要支援者名簿"
                   "（災害対策基本法第49条の11第2項、条例による平常時提供）"})
    provided_on = JapaneseDate(metadata={"description": "evacuation_register: when provided"})
    note = fields.String(validate=validate.Length(max=2000))


class WatchIn(Schema):
    client_id = fields.Integer(required=True, validate=validate.Range(min=1))
    area = fields.String(required=True, validate=CODE)
    watch_for = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    basis = fields.Nested(BasisIn, required=True)
    watchers = fields.List(fields.Integer(validate=validate.Range(min=1)),
                           validate=validate.Length(max=20), load_default=list,
                           metadata={"description": "community member ids"})


class WatchListArgs(PageArgs):
    area = fields.String(validate=CODE, metadata={
        "description": "an area code (its 小地域 included); a member may name only their own"})
    active = fields.Boolean(load_default=True)


class VisitOut(Schema):
    id = fields.Integer()
    watch_id = fields.Integer()
    visited_at = AwareDateTime()
    status = fields.String()
    note = fields.String()
    recorded_by_id = fields.Integer(allow_none=True)


class WatchOut(Schema):
    id = fields.Integer()
    area = fields.String(attribute="area_code")
    area_name = fields.String()
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    watch_for = fields.String()
    last_visit_at = AwareDateTime(allow_none=True)
    last_visit_status = fields.String(allow_none=True)
    last_visit_label = fields.String(allow_none=True)
    client_id = fields.Integer(metadata={"description": STAFF_ONLY})
    basis = fields.String(metadata={"description": STAFF_ONLY})
    basis_label = fields.String(metadata={"description": STAFF_ONLY})
    basis_scope = fields.List(fields.String(), metadata={"description": STAFF_ONLY})
    basis_detail = fields.Dict(metadata={"description": STAFF_ONLY})
    watchers = fields.List(fields.Integer(), metadata={"description": STAFF_ONLY})
    started_at = AwareDateTime(metadata={"description": STAFF_ONLY})
    ended_at = AwareDateTime(allow_none=True, metadata={"description": STAFF_ONLY})
    end_reason = fields.String(allow_none=True, metadata={"description": STAFF_ONLY})
    visit_due_at = AwareDateTime(allow_none=True, metadata={"description": STAFF_ONLY})
    visits = fields.List(fields.Nested(VisitOut), metadata={
        "description": "staff only, and only when one entry is read"})


WatchPage = page_schema(WatchOut, "WatchPage")


class VisitIn(Schema):
    visited_at = AwareDateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(values(VisitStatus)))
    note = fields.String(validate=validate.Length(max=2000), load_default="")


# --------------------------------------------------------------------------- meetings


class AttendeeIn(Schema):
    member_id = fields.Integer(validate=validate.Range(min=1))
    name = fields.String(validate=validate.Length(min=1, max=100))
    role = fields.String(validate=validate.OneOf((*ROLES, "staff")))

    @validates_schema
    def member_or_name(self, data, **kwargs):
        if data.get("member_id") is None and not (data.get("name") and data.get("role")):
            raise ValidationError("委員は member_id で、それ以外の出席者は name と role で"
                                  "指定してください",
                                  field_name="member_id")


class MeetingIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(values(MeetingKind)))
    area = fields.String(required=True, validate=CODE)
    held_on = JapaneseDate(required=True, metadata={"example": "令和8年11月27日"})
    attendees = fields.List(fields.Nested(AttendeeIn), validate=validate.Length(max=60),
                            load_default=list)
    note = fields.String(validate=validate.Length(max=2000), load_default="")


class AttendeeOut(Schema):
    member_id = fields.Integer(allow_none=True)
    name = fields.String()
    role = fields.String()


class ReviewOut(Schema):
    id = fields.Integer()
    meeting_id = fields.Integer()
    watch_id = fields.Integer()
    status = fields.String()
    note = fields.String()
    consultation_id = fields.Integer(allow_none=True)
    case_id = fields.Function(lambda r: r.consultation.case_id if r.consultation else None)
    routed_to = fields.List(fields.String(), metadata={
        "description": "partner codes the need was referred to (when this review made one)"})
    created_at = AwareDateTime()


class EvaluationOut(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    meeting_id = fields.Integer()
    rating = fields.String()
    rating_label = fields.Function(lambda e: EVALUATION_LABELS.get(e.rating))
    note = fields.String()


class MeetingOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    area = fields.String(attribute="area_code")
    area_name = fields.String()
    held_on = fields.Date()
    attendees = fields.List(fields.Nested(AttendeeOut))
    note = fields.String()
    reviews = fields.List(fields.Nested(ReviewOut), metadata={"description": STAFF_ONLY})
    evaluations = fields.List(fields.Nested(EvaluationOut),
                              metadata={"description": STAFF_ONLY})
    created_at = AwareDateTime()


class NeedIn(Schema):
    topics = fields.List(fields.String(validate=validate.OneOf(list(rules.TOPICS))),
                         required=True, validate=validate.Length(min=1, max=len(rules.TOPICS)))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    urgency = fields.String(validate=validate.OneOf(rules.URGENCIES), load_default="normal")


class ReviewIn(Schema):
    watch_id = fields.Integer(required=True, validate=validate.Range(min=1))
    status = fields.String(required=True, validate=validate.OneOf(values(VisitStatus)))
    note = fields.String(validate=validate.Length(max=2000), load_default="")
    need = fields.Nested(NeedIn, allow_none=True, metadata={
        "description": "a need found: becomes a consultation at the counter, routed by the rules"})


class Rating(fields.String):
    """An evaluation by code (achieved …) or as written on the sheet (達成 …)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        value = EVALUATION_BY_LABEL.get(value, value)
        if value not in values(Evaluation):
            raise ValidationError("評価は 達成・一部達成・未着手・見直し（achieved, partly, "
                                  "not_started, revised）のいずれかです")
        return value


class EvaluationIn(Schema):
    item_id = fields.Integer(required=True, validate=validate.Range(min=1))
    rating = Rating(required=True, metadata={"enum": [*values(Evaluation),
                                                     *EVALUATION_BY_LABEL]})
    note = fields.String(validate=validate.Length(max=2000), load_default="")


class EvaluationsIn(Schema):
    evaluations = fields.List(fields.Nested(EvaluationIn), required=True,
                              validate=validate.Length(min=1, max=100))


class EvaluationList(Schema):
    evaluations = fields.List(fields.Nested(EvaluationOut))


# --------------------------------------------------------------------------- plans


class PlanItemIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    target = fields.String(validate=validate.Length(max=2000), load_default="")
    owner = fields.String(validate=validate.Length(max=100), load_default="")
    fiscal_year = fields.Integer(validate=validate.Range(min=2000, max=2100), allow_none=True)


class PlanEvaluationOut(EvaluationOut):
    held_on = fields.Function(lambda e: e.meeting.held_on.isoformat())


class PlanItemOut(Schema):
    id = fields.Integer()
    title = fields.String()
    target = fields.String()
    owner = fields.String()
    fiscal_year = fields.Integer(allow_none=True)
    active = fields.Boolean()
    evaluations = fields.List(fields.Nested(PlanEvaluationOut))


class PlanOut(Schema):
    area = fields.Function(lambda p: p.area.code)
    area_name = fields.Function(lambda p: p.area.name)
    items = fields.List(fields.Nested(PlanItemOut))


class PlanArgs(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


PLAN_RESPONSES = {"200": {"description": "OK", "content": {
    "application/json": {"schema": PlanOut},
    "text/csv": {"schema": {"type": "string"}},
}}}
SHEET_RESPONSES = {"200": {"description": "the sheet, A4 landscape", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


# --------------------------------------------------------------------------- the queue


class TaskListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(values(TaskStatus)),
                           metadata={"description": "default: open"})
    kind = fields.String(validate=validate.OneOf(values(TaskKind)))
    area = fields.String(validate=CODE)


class TaskOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    area = fields.Function(lambda t: t.area.code)
    area_name = fields.Function(lambda t: t.area.name)
    watch_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    due_at = AwareDateTime()
    opened_at = AwareDateTime(allow_none=True)
    closed_at = AwareDateTime(allow_none=True)
    close_note = fields.String(allow_none=True)


TaskPage = page_schema(TaskOut, "CommunityTaskPage")


class TaskDoneIn(Schema):
    note = fields.String(validate=validate.Length(max=2000), load_default="")
