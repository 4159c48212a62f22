"""The audit log (監査ログ): who read or changed personal data."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime, PageArgs, page_schema


class AuditArgs(PageArgs):
    person = fields.Integer(validate=validate.Range(min=1))  # a client's id
    resource = fields.String(validate=validate.Length(max=50))
    resource_id = fields.String(validate=validate.Length(max=50))
    actor = fields.String(validate=validate.Length(max=100))
    outcome = fields.String(validate=validate.OneOf(("success", "denied")))
    at_from = AwareDateTime(data_key="from")
    at_to = AwareDateTime(data_key="to")


class AuditOut(Schema):
    id = fields.Integer()
    at = AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    actor = fields.String(attribute="actor_label")
    role = fields.String(attribute="actor_role")
    action = fields.String()
    resource = fields.String(attribute="resource_type")
    resource_id = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    outcome = fields.String()
    source_ip = fields.String(allow_none=True)
    detail = fields.Dict()
    hash = fields.String()


AuditPage = page_schema(AuditOut, "AuditPage")
