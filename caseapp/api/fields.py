"""Fields shared by the schemas: Japanese dates, the counter's time, one pagination shape.

Every schema takes its date-times from here, so every time in an answer is Asia/Tokyo (+09:00)
whatever the database stores (UTC); a test walks the registered schemas to hold that.
"""

from datetime import date, datetime

from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, ValidationError, fields, validate

from caseapp.rules.calendar import tokyo_isoformat


class AwareDateTime(fields.AwareDateTime):
    """Aware date-times in, in any zone; answered in the counter's zone, Asia/Tokyo."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return tokyo_isoformat(value)
        return super()._serialize(value, attr, obj, **kwargs)


class AnswerJSON(DefaultJSONProvider):
    """For values that reach JSON without a schema: times as the counter states them, not
    Flask's default HTTP date in GMT."""

    ensure_ascii = False

    @staticmethod
    def default(o):
        if isinstance(o, datetime):
            return tokyo_isoformat(o) if o.tzinfo is not None else o.isoformat()
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


class JapaneseDate(fields.Date):
    """ISO dates, and 和暦 such as 昭和27年4月1日 or S27.4.1, on input; ISO on output."""

    def _deserialize(self, value, attr, data, **kwargs):
        from caseapp.jp.wareki import parse_date

        if not isinstance(value, str):
            raise ValidationError("日付は文字列で指定してください（YYYY-MM-DD または和暦）")
        try:
            return parse_date(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total": fields.Integer(),
    }, name=name)
