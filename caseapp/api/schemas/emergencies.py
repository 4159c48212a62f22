"""The emergency protocol as answers show it (docs/emergency.md)."""

from marshmallow import Schema, fields

from caseapp.api.schemas.common import AwareDateTime


class DangerOut(Schema):
    rule_id = fields.String()
    reason = fields.String()
    words = fields.List(fields.String(), metadata={
        "description": "the words of the summary that matched (normalised: NFKC, no spaces)"})
    matched = fields.List(fields.String())


class EmergencyOut(Schema):
    """The emergency protocol set off by a consultation (docs/emergency.md)."""

    consultation_id = fields.Integer()
    dangers = fields.List(fields.Nested(DangerOut), metadata={
        "description": "each emergency rule that fired, with the words it found"})
    words = fields.List(fields.String())
    action_due_at = AwareDateTime(metadata={"description": "the case's next action is due by"})
    detected_at = AwareDateTime()
    alert_id = fields.Integer(allow_none=True, metadata={
        "description": "the supervisors' alert (GET /alerts)"})
