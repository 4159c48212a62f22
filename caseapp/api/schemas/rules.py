"""The versioned routing rule set (ルール) and its dry run."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime
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


class RuleVersionOut(Schema):
    version = fields.Integer()
    adopted_at = AwareDateTime()
    adopted_by = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    rules = fields.Integer()
    active = fields.Boolean()
    copied_from = fields.Integer(allow_none=True)


class ReplayArgs(Schema):
    months = fields.Integer(load_default=6, validate=validate.Range(min=1, max=36))
    examples = fields.Integer(load_default=10, validate=validate.Range(min=0, max=100))


class ReplayExampleOut(Schema):
    consultation_id = fields.Integer()
    received_at = AwareDateTime()
    topics = fields.List(fields.String())
    before = fields.List(fields.String())
    after = fields.List(fields.String())


class ReplayOut(Schema):
    months = fields.Integer()
    since = fields.Date()
    current_version = fields.Integer(allow_none=True)
    total = fields.Integer()
    changed = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Dict())
    examples = fields.List(fields.Nested(ReplayExampleOut))
