"""The monthly figures (統計) for the city and the network, as JSON or one CSV table."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Years the calendar can hold with a month to spare on either side; the counter's records
# fall well inside.
MONTH = r"^(19|20)\d\d-(0[1-9]|1[0-2])$"

MONTH_ERROR = "1900-01〜2099-12 の YYYY-MM の形で指定してください（month as YYYY-MM）"

# One CSV per table, with the Japanese column labels the city's spreadsheets use.
CSV_TABLES = {
    "by_month": [("month", "月"), ("consultations", "相談件数"), ("anonymous", "匿名"),
                 ("new_cases", "新規相談受付件数"), ("new_clients", "新規相談者"),
                 ("returning_clients", "継続相談者"),
                 ("new_cases_per_100k", "人口10万人あたり新規相談受付件数")],
    "by_topic": [("topic", "相談内容コード"), ("label", "相談内容"), ("count", "件数")],
    "by_channel": [("channel", "受付方法"), ("count", "件数")],
    "by_district": [("district", "地区"), ("count", "件数")],
    "by_event": [("event_id", "相談会ID"), ("name", "相談会"), ("date", "開催日"),
                 ("count", "件数")],
    "referrals_by_partner": [("partner", "連携機関コード"), ("name", "連携機関"),
                             ("total", "つなぎ件数")],
    "rejections": [("reason", "受け入れ不可の理由"), ("count", "件数")],
    "outcomes": [("outcome", "結果"), ("count", "件数")],
}


class MonthlyArgs(Schema):
    from_ = fields.String(data_key="from", validate=validate.Regexp(MONTH,
                          error=MONTH_ERROR))
    to = fields.String(validate=validate.Regexp(MONTH, error=MONTH_ERROR))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))
    table = fields.String(load_default="by_month", validate=validate.OneOf(list(CSV_TABLES)))

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("from は to 以前の月にしてください", field_name="from")


class LayerArgs(Schema):
    from_ = fields.String(data_key="from", validate=validate.Regexp(MONTH, error=MONTH_ERROR))
    to = fields.String(validate=validate.Regexp(MONTH, error=MONTH_ERROR))

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("from は to 以前の月にしてください", field_name="from")
