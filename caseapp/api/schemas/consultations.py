"""Consultations (相談): intake, its routing decisions, and the list."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp import rules
from caseapp.api.schemas.clients import ClientIn, DuplicateOut
from caseapp.api.schemas.common import AwareDateTime, PageArgs, page_schema
from caseapp.api.schemas.consents import ConsentIn
from caseapp.api.schemas.emergencies import EmergencyOut
from caseapp.api.schemas.events import TeamBrief
from caseapp.api.schemas.referrals import ReferralBrief
from caseapp.domain.community import SITES


class Facts(fields.Dict):
    """The rule engine's facts; unknown keys and wrong types are refused per key."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problems = rules.validate_facts(value)
        if problems:
            raise ValidationError({key.removeprefix("facts."): messages
                                   for key, messages in problems.items()})
        return value


class ConsultationIn(Schema):
    client = fields.Nested(ClientIn)
    client_id = fields.Integer(validate=validate.Range(min=1))
    channel = fields.String(required=True, validate=validate.OneOf(rules.CHANNELS))
    event_id = fields.Integer(validate=validate.Range(min=1), allow_none=True)
    received_at = AwareDateTime()
    topics = fields.List(fields.String(validate=validate.OneOf(list(rules.TOPICS))),
                         validate=validate.Length(max=len(rules.TOPICS)), load_default=list)
    summary = fields.String(validate=validate.Length(max=20000), load_default="")
    urgency = fields.String(validate=validate.OneOf(rules.URGENCIES), load_default="normal")
    facts = Facts(load_default=dict)
    consent = fields.Nested(ConsentIn, allow_none=True)
    site = fields.String(validate=validate.OneOf(SITES), metadata={
        "description": "where the person was seen (default: event for an event's consultation, "
                       "counter for the window)"})
    site_area = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "the 地区 or 小地域 code of the center or visit"})

    @validates_schema
    def one_client(self, data, **kwargs):
        if data.get("client") and data.get("client_id") is not None:
            raise ValidationError("client と client_id はどちらか一方だけ指定してください",
                                  field_name="client_id")


class DecisionOut(Schema):
    partner = fields.String(attribute="partner_code")
    rule_id = fields.String()
    reason = fields.String()
    action = fields.String()
    method = fields.String()
    urgency = fields.String(allow_none=True)
    legal_basis = fields.String(allow_none=True)
    matched = fields.List(fields.String())
    also = fields.List(fields.String())


class RoutingOut(Schema):
    ruleset_version = fields.Integer(allow_none=True)
    decisions = fields.List(fields.Nested(DecisionOut))


# One instance for every answer: a schema's construction copies its fields.
_ROUTING = RoutingOut()


class ConsultationOut(Schema):
    emergency = fields.Nested(EmergencyOut, allow_none=True, metadata={
        "description": "set when the consultation showed danger to life or body; null else"})
    id = fields.Integer()
    client_id = fields.Integer(allow_none=True)
    case_id = fields.Integer()
    event_id = fields.Integer(allow_none=True)
    received_at = AwareDateTime()
    channel = fields.String()
    site = fields.String(allow_none=True)
    site_area = fields.Function(lambda c: {"code": c.site_area.code, "name": c.site_area.name,
                                           "hub": c.site_area.hub} if c.site_area else None,
                                allow_none=True)
    topics = fields.List(fields.String())
    summary = fields.String()
    urgency = fields.String()
    facts = fields.Dict()
    routing = fields.Function(lambda c: _ROUTING.dump(
        {"ruleset_version": c.ruleset_version, "decisions": c.decisions}))
    referrals = fields.List(fields.Nested(ReferralBrief))
    team = fields.Nested(TeamBrief, allow_none=True)


class IntakeOut(ConsultationOut):
    possible_duplicates = fields.List(fields.Nested(DuplicateOut))


class ConsultationListArgs(PageArgs):
    case_id = fields.Integer()
    client_id = fields.Integer()
    event_id = fields.Integer()
    channel = fields.String(validate=validate.OneOf(rules.CHANNELS))
    urgency = fields.String(validate=validate.OneOf(rules.URGENCIES))
    received_from = AwareDateTime()
    received_to = AwareDateTime()


ConsultationPage = page_schema(ConsultationOut, "ConsultationPage")
