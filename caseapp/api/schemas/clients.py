"""Clients (相談者): registration, correction, search, duplicates (名寄せ) and merging."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.cases import CaseBrief
from caseapp.api.schemas.common import AwareDateTime, JapaneseDate, PageArgs, page_schema
from caseapp.api.schemas.consents import ConsentOut

SEXES = ("female", "male", "other", "unknown")


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


class ClientPatch(ClientIn):
    """Only the intake fields can be corrected; anything else (id, keys, merge state) is a 422."""

    name = fields.String(validate=validate.Length(min=1, max=200))


class DuplicateOut(Schema):
    client_id = fields.Integer()
    name = fields.String()
    name_kana = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    score = fields.Integer()
    reasons = fields.List(fields.String())


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
    area = fields.Function(lambda c: {"code": c.area.code, "name": c.area.name,
                                      "level": c.area.level} if c.area else None,
                           allow_none=True, metadata={
                               "description": "the 小地域 or 地区 the address resolves to by the "
                                              "area address keys; null: unresolved"})
    area_unresolved = fields.Function(lambda c: bool(c.address) and c.area_id is None,
                                      metadata={"description": "an address no key places"})
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


class ClientUpdatedOut(ClientOut):
    possible_duplicates = fields.List(fields.Nested(DuplicateOut))


class ClientSearchArgs(PageArgs):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    birth_date = JapaneseDate(metadata={"description": "narrow to this birth date (ISO or 和暦)"})


class ClientHit(ClientOut):
    match = fields.String(metadata={"description": "exact, prefix or substring (the ranking)"})


ClientSearchPage = page_schema(ClientHit, "ClientSearchPage")


class DuplicatesOut(Schema):
    client_id = fields.Integer()
    possible_duplicates = fields.List(fields.Nested(DuplicateOut))


class MergeIn(Schema):
    duplicate_id = fields.Integer(
        required=True, validate=validate.Range(min=1),
        metadata={"description": "the record to merge into this one; this one keeps its id"})
    reason = fields.String(validate=validate.Length(max=2000), allow_none=True)
