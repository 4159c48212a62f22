"""The monthly figures (統計) for the city and the network, as JSON or one CSV table."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp.services.reports.tables import CSV_TABLES, MONTH, MONTH_ERROR, ORDER_ERROR


class MonthlyArgs(Schema):
    from_ = fields.String(data_key="from", validate=validate.Regexp(MONTH,
                          error=MONTH_ERROR))
    to = fields.String(validate=validate.Regexp(MONTH, error=MONTH_ERROR))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))
    table = fields.String(load_default="by_month", validate=validate.OneOf(list(CSV_TABLES)))

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError(ORDER_ERROR, field_name="from")


class LayerArgs(Schema):
    from_ = fields.String(data_key="from", validate=validate.Regexp(MONTH, error=MONTH_ERROR))
    to = fields.String(validate=validate.Regexp(MONTH, error=MONTH_ERROR))

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError(ORDER_ERROR, field_name="from")
