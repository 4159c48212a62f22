"""Shapes of the person's-rights endpoints: the disclosure file and stop of use."""

from marshmallow import Schema, fields, validate

from caseapp.api.schemas.common import AwareDateTime


class ExportRecordOut(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True)
    name_kana = fields.String(allow_none=True)
    birth_date = fields.String(allow_none=True)
    sex = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    small_area = fields.String(allow_none=True)
    registered_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    merged_into = fields.Integer(allow_none=True)
    merged_at = fields.String(allow_none=True)
    anonymised_at = fields.String(allow_none=True)


class ProvisionOut(Schema):
    at = fields.String(metadata={"description": "Asia/Tokyo"})
    kind = fields.String(metadata={"description": "sent (pushed to the partner), "
                                                  "partner_read (read in its inbox) or "
                                                  "watch_sheet (printed for a 小地域 meeting)"})
    referral_id = fields.Integer(allow_none=True)
    partner = fields.Dict(allow_none=True)
    meeting_id = fields.Integer(metadata={"description": "watch_sheet: the meeting"})
    to = fields.String(metadata={"description": "watch_sheet: the meeting's attendees"})
    recipients = fields.List(fields.String(), metadata={
        "description": "watch_sheet: each attendee, named, with their role"})
    channel = fields.String()
    channel_label = fields.String(allow_none=True)
    items = fields.List(fields.String(), metadata={"description": "the items given"})
    basis = fields.String(allow_none=True)
    basis_label = fields.String(allow_none=True)
    by = fields.String(allow_none=True)


class AccessOut(Schema):
    at = fields.String()
    who = fields.String()
    role = fields.String()
    action = fields.String()
    action_label = fields.String()
    resource = fields.String()
    resource_id = fields.Integer(allow_none=True)
    outcome = fields.String()


class ExportOut(Schema):
    title = fields.String()
    produced_at = fields.String()
    produced_by = fields.Dict()
    client_id = fields.Integer()
    records = fields.List(fields.Nested(ExportRecordOut), metadata={
        "description": "the person's record first, then every record merged into it"})
    corrections = fields.List(fields.Dict(), metadata={"description": "訂正 (§34) with dates"})
    household = fields.Dict(allow_none=True)
    cases = fields.List(fields.Dict())
    consultations = fields.List(fields.Dict())
    referrals = fields.List(fields.Dict())
    consents = fields.List(fields.Dict())
    support_meetings = fields.List(fields.Dict())
    use_stops = fields.List(fields.Dict())
    provisions = fields.List(fields.Nested(ProvisionOut), metadata={
        "description": "第三者提供の記録 (§33(5)): what each partner was given, when, on what "
                       "basis"})
    access_log = fields.List(fields.Nested(AccessOut), metadata={
        "description": "who at the counter read the person's data, and when"})


class UseStopIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class UseStopOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    stopped_at = AwareDateTime()
    reason = fields.String()
    lifted_at = AwareDateTime(allow_none=True)
    lift_reason = fields.String(allow_none=True)
    held_referrals = fields.List(fields.Integer(), metadata={
        "description": "referrals not yet sent, now waiting (their deliveries say why)"})
    notified_referrals = fields.List(fields.Integer(), metadata={
        "description": "referrals whose partner is told that use has stopped"})
    released_referrals = fields.List(fields.Integer(), metadata={
        "description": "on resume: referrals sent on now that a basis holds again"})
