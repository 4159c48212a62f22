"""Request and response shapes; the OpenAPI document is generated from these."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp import rules
from caseapp.api.fields import AwareDateTime, JapaneseDate, PageArgs, page_schema

SEXES = ("female", "male", "other", "unknown")
CONSENT_METHODS = ("written", "oral", "electronic")


def _phone_display(client) -> str | None:
    from caseapp.jp.phone import format_phone

    try:
        return format_phone(client.phone) if client.phone else None
    except ValueError:  # a number stored before validation existed: show the digits
        return client.phone


class ClientIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_kana = fields.String(validate=validate.Length(max=200), allow_none=True)
    birth_date = JapaneseDate(allow_none=True)
    sex = fields.String(validate=validate.OneOf(SEXES), allow_none=True)
    phone = fields.String(validate=validate.Length(max=40), allow_none=True)
    postal_code = fields.String(validate=validate.Length(max=10), allow_none=True)
    address = fields.String(validate=validate.Length(max=500), allow_none=True)
    district = fields.String(validate=validate.Length(max=100), allow_none=True)
    small_area = fields.String(validate=validate.Length(max=100), allow_none=True)


class ConsentIn(Schema):
    scope = fields.String(required=True, validate=validate.OneOf(("network", "partners")))
    partners = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                           load_default=list)
    purposes = fields.List(fields.String(validate=validate.Length(max=200)), load_default=list)
    method = fields.String(required=True, validate=validate.OneOf(CONSENT_METHODS))
    given_at = AwareDateTime(required=True)
    expires_at = AwareDateTime(allow_none=True)
    covers_sensitive = fields.Boolean(load_default=False)


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


class ReferralBrief(Schema):
    id = fields.Integer()
    partner = fields.Function(lambda r: r.partner.code)
    status = fields.String()
    method = fields.String()
    reason = fields.String()
    urgency = fields.String()
    legal_basis = fields.String(allow_none=True)


class RoutingOut(Schema):
    ruleset_version = fields.Integer(allow_none=True)
    decisions = fields.List(fields.Nested(DecisionOut))


class TeamBrief(Schema):
    """The on-the-spot team at an event (POST /consultations/{id}/team)."""

    partners = fields.List(fields.String())
    outcome = fields.String()
    note = fields.String()
    recorded_at = AwareDateTime()


class ConsultationOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer(allow_none=True)
    case_id = fields.Integer()
    event_id = fields.Integer(allow_none=True)
    received_at = AwareDateTime()
    channel = fields.String()
    topics = fields.List(fields.String())
    summary = fields.String()
    urgency = fields.String()
    facts = fields.Dict()
    routing = fields.Function(lambda c: RoutingOut().dump(
        {"ruleset_version": c.ruleset_version, "decisions": c.decisions}))
    referrals = fields.List(fields.Nested(ReferralBrief))
    team = fields.Nested(TeamBrief, allow_none=True)


class DuplicateOut(Schema):
    client_id = fields.Integer()
    name = fields.String()
    name_kana = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    score = fields.Integer()
    reasons = fields.List(fields.String())


class IntakeOut(ConsultationOut):
    possible_duplicates = fields.List(fields.Nested(DuplicateOut))


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


class CaseBrief(Schema):
    id = fields.Integer()
    status = fields.String()
    owner_id = fields.Integer(allow_none=True)
    next_action = fields.String(allow_none=True)
    next_action_at = AwareDateTime(allow_none=True)
    household_id = fields.Integer(allow_none=True)


class ClientOut(Schema):
    id = fields.Integer()
    name = fields.String()
    name_kana = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    sex = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "digits only"})
    phone_display = fields.Function(_phone_display, allow_none=True,
                                    metadata={"description": "hyphenated, e.g. 088-823-1234"})
    postal_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    small_area = fields.String(allow_none=True)
    created_at = AwareDateTime()


class ClientHouseholdOut(Schema):
    household_id = fields.Integer()
    relationship = fields.String()
    relationship_label = fields.String()


class ClientDetailOut(ClientOut):
    cases = fields.List(fields.Nested(CaseBrief))
    consents = fields.List(fields.Nested(ConsentOut))
    household = fields.Nested(ClientHouseholdOut, attribute="membership", allow_none=True)


class ClientCreatedOut(ClientOut):
    possible_duplicates = fields.List(fields.Nested(DuplicateOut))


class ClientSearchArgs(PageArgs):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    birth_date = JapaneseDate(metadata={"description": "narrow to this birth date (ISO or 和暦)"})


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


class ConsultationListArgs(PageArgs):
    case_id = fields.Integer()
    client_id = fields.Integer()
    event_id = fields.Integer()
    channel = fields.String(validate=validate.OneOf(rules.CHANNELS))
    urgency = fields.String(validate=validate.OneOf(rules.URGENCIES))
    received_from = AwareDateTime()
    received_to = AwareDateTime()


ConsultationPage = page_schema(ConsultationOut, "ConsultationPage")
ClientPage = page_schema(ClientOut, "ClientPage")
CasePage = page_schema(CaseBrief, "CasePage")
