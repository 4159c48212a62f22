"""JSON for values that reach an answer without a schema."""

from datetime import date, datetime

from flask.json.provider import DefaultJSONProvider

from caseapp.rules.calendar import tokyo_isoformat


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
