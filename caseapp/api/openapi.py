"""The OpenAPI document states what validation enforces, not only what each field checks itself.

A field's own validators (OneOf, Length, Range, Regexp) reach the document through apispec. What
the services and the cross-field checks refuse is added here, in one place, so that a client — or
a fuzzer — building requests from the document gets them accepted:

- fields whose rules live in a service or in the rule vocabulary (readings, phone numbers, postal
  codes, the support-meeting laws, the facts of a consultation);
- rules across fields (``client`` or ``client_id``, not both; a reason only when rejecting; …);
- a nullable nested object is "that object or null", not "any object or null".

Entries are keyed by schema class name (a field's entry also serves subclasses of its schema);
a test checks every name still exists.
"""

from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter

from caseapp.rules.vocab import facts_json_schema

KATAKANA = "\u30a1-\u30fa\u30fc\u30fb"
# The canonical forms; the services also accept full-width digits, hyphens typed as any dash,
# hiragana and half-width kana, and normalise them.
FIELDS: dict[tuple[str, str], dict] = {
    ("ClientIn", "name_kana"): {
        "pattern": f"^[{KATAKANA} ]*[\u30a1-\u30fa][{KATAKANA} ]*$",
        "description": "フリガナ（カタカナ。ひらがな・半角カナも受け付け、カタカナにします）"},
    ("ClientIn", "phone"): {
        "pattern": "^0[0-9]{9,10}$",
        "description": "10 or 11 digits from 0 (hyphens, full-width digits and +81 accepted)"},
    ("ClientIn", "postal_code"): {"pattern": "^[0-9]{3}-?[0-9]{4}$"},
    ("SupportMeetingIn", "law"): {"enum": ["seikatsu_konkyu_9", "shakai_fukushi_106_6"]},
}
# Field classes documented the same wherever they are used.
FIELD_CLASSES: dict[str, dict] = {
    "Facts": facts_json_schema(),
    "PartnerEntry": {"oneOf": [
        {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,49}$"},
        {"type": "object", "required": ["code"], "additionalProperties": False, "properties": {
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,49}$"},
            "specialists": {"type": "array", "maxItems": 20,
                            "items": {"type": "string", "minLength": 1, "maxLength": 100}}}},
    ]},
}

_ONE_CLIENT = {"not": {"required": ["client", "client_id"]}}


def _only_with(field: str, key: str, values: list[str]) -> dict:
    """``field`` may be given only when ``key`` is one of ``values``."""
    return {"anyOf": [{"properties": {key: {"enum": values}}, "required": [key]},
                      {"not": {"required": [field]}}]}


def _needs(key: str, value: str, field: str) -> dict:
    """When ``key`` is ``value``, ``field`` is required."""
    return {"anyOf": [{"properties": {key: {"not": {"enum": [value]}}}},
                      {"required": [field]}]}


SCHEMAS: dict[str, dict] = {
    "ConsultationIn": _ONE_CLIENT,
    "EvaluateIn": _ONE_CLIENT,
    "PartnerStatusIn": {"allOf": [
        _only_with("reason", "status", ["rejected"]), _needs("status", "rejected", "reason"),
        _only_with("outcome", "status", ["completed"]), _needs("status", "completed", "outcome"),
    ]},
    "TeamIn": {"allOf": [_only_with("method", "outcome", ["referred"]),
                         _only_with("follow_up_at", "outcome", ["follow_up"])]},
    "EventIn": {"anyOf": [{"required": ["date"]},
                          {"required": ["starts_at"], "properties": {"starts_at": {
                              "type": "string", "format": "date-time"}}}]},
}


class DocumentedConverter(OpenAPIConverter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_attribute_function(_field_docs)

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        schema_class = schema if isinstance(schema, type) else type(schema)
        jsonschema.update(SCHEMAS.get(schema_class.__name__, {}))
        for prop in jsonschema.get("properties", {}).values():
            _null_or_ref(prop)
        return jsonschema


def _field_docs(self, field, ret, **kwargs) -> dict:
    doc = dict(FIELD_CLASSES.get(type(field).__name__, {}))
    parent = getattr(field, "parent", None)
    if parent is not None:
        for schema_class in reversed(type(parent).__mro__):
            doc.update(FIELDS.get((schema_class.__name__, field.name), {}))
    if "type" in doc or "oneOf" in doc:
        # The documented shape replaces the generic one (an open object, an untyped item).
        ret.pop("additionalProperties", None)
    return doc


def _null_or_ref(prop: dict) -> None:
    # apispec writes a nullable reference as anyOf [any object or null, the reference]; the
    # first branch admits every object. Say "null" there instead.
    branches = prop.get("anyOf")
    if branches and any("$ref" in b for b in branches):
        for branch in branches:
            if branch == {"type": "object", "nullable": True}:
                branch["enum"] = [None]


class DocumentedPlugin(MarshmallowPlugin):
    Converter = DocumentedConverter
