"""Households (世帯): clients living together, with their relationships (続柄)."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime
from caseapp.models.households import RELATIONSHIPS

_RELATIONSHIP_DOC = "、".join(f"{code} ({label})" for code, label in RELATIONSHIPS.items())


class HouseholdMemberIn(Schema):
    client_id = fields.Integer(required=True, validate=validate.Range(min=1))
    relationship = fields.String(required=True, validate=validate.OneOf(list(RELATIONSHIPS)),
                                 metadata={"description": _RELATIONSHIP_DOC})


class RelationshipIn(Schema):
    relationship = fields.String(required=True, validate=validate.OneOf(list(RELATIONSHIPS)),
                                 metadata={"description": _RELATIONSHIP_DOC})


class HouseholdIn(Schema):
    name = fields.String(validate=validate.Length(max=200), allow_none=True)
    address = fields.String(validate=validate.Length(max=500), allow_none=True)
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)
    members = fields.List(fields.Nested(HouseholdMemberIn), load_default=list,
                          validate=validate.Length(max=30))


class HouseholdPatch(Schema):
    name = fields.String(validate=validate.Length(max=200), allow_none=True)
    address = fields.String(validate=validate.Length(max=500), allow_none=True)
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)


class HouseholdMemberOut(Schema):
    client_id = fields.Integer()
    name = fields.Function(lambda m: m.client.name)
    name_kana = fields.Function(lambda m: m.client.name_kana, allow_none=True)
    birth_date = fields.Function(lambda m: m.client.birth_date.isoformat()
                                 if m.client.birth_date else None, allow_none=True)
    relationship = fields.String()
    relationship_label = fields.String()
    added_at = AwareDateTime()


class HouseholdOut(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    members = fields.List(fields.Nested(HouseholdMemberOut))
    case_ids = fields.Function(lambda h: [c.id for c in h.cases])
    created_at = AwareDateTime()
