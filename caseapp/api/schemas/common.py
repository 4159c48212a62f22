"""What every resource shares: the problem, Japanese dates, the counter's time, paging, the page
shape, views.

Every schema takes its date-times from here, so every time in an answer is Asia/Tokyo (+09:00)
whatever the database stores (UTC); a test walks the registered schemas to hold that.
"""

from datetime import datetime
from typing import ClassVar

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from caseapp.rules.calendar import tokyo_isoformat


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error is answered."""

    class Meta:
        unknown = INCLUDE

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class AwareDateTime(fields.AwareDateTime):
    """Aware date-times in, in any zone; answered in the counter's zone, Asia/Tokyo."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return tokyo_isoformat(value)
        return super()._serialize(value, attr, obj, **kwargs)


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


def page_schema(item_schema: type[Schema] | Schema, name: str) -> type[Schema]:
    """The one shape every listing answers with; services fill it with a ``Page``."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total": fields.Integer(),
    }, name=name)


class ViewSchema(Schema):
    """One resource shown through named views: each view is the field list one answer carries.

    ``Thing(view="brief")`` is ``Thing(only=VIEWS["brief"])``; in the OpenAPI document each view
    is its own component, ``ThingBrief``, so a client sees exactly the fields it gets.
    """

    VIEWS: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, *, view: str, **kwargs):
        super().__init__(only=self.VIEWS[view], **kwargs)
        self.view = view

    @property
    def component_name(self) -> str:
        return type(self).__name__ + self.view.title().replace("_", "")
