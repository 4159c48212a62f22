"""The versioned routing rule set (ルール) and its dry run."""

from marshmallow import Schema, fields

from caseapp.api.schemas.consultations import ConsultationIn, DecisionOut


class RuleSetOut(Schema):
    version = fields.Integer(allow_none=True)
    rules = fields.List(fields.Dict())
    tables = fields.Dict()


class EvaluateOut(Schema):
    ruleset_version = fields.Integer(allow_none=True)
    decisions = fields.List(fields.Nested(DecisionOut))


class EvaluateIn(ConsultationIn):
    class Meta:
        exclude = ("consent",)


RULESET_BODY = {"required": True, "content": {
    "application/json": {"schema": {"type": "object"}},
    "application/yaml": {"schema": {"type": "string"}},
}}
