import csv
import io

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from caseapp.api.auth import current_actor, requires
from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit
from caseapp.services.reports import monthly as monthly_report

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports",
                description="統計: monthly figures for the city and the network")

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


@blp.route("/monthly", methods=["GET"])
@blp.arguments(MonthlyArgs, location="query")
@blp.response(200, description="Monthly figures as JSON, or one table as CSV (UTF-8 with BOM)")
@requires(Permission.REPORTS_READ)
def monthly(args):
    """Counts by month, topic, channel, district, event and partner; funnel; accounting."""
    this_month = monthly_report.month_of(utcnow().astimezone(TOKYO).date())
    period = monthly_report.Period.months(args.get("from_") or this_month,
                                         args.get("to") or this_month)
    population = current_app.config["CASEAPP"].population
    data = monthly_report.monthly(db.session, period, population, utcnow())
    audit.record(db.session, current_actor(), "read", "report", "monthly",
                 detail={"from": period.first, "to": period.last, "format": args["format"]})
    db.session.commit()
    if args["format"] == "csv":
        return _csv(data, args["table"], period)
    return data


def _csv(data: dict, table: str, period) -> Response:
    columns = CSV_TABLES[table]
    rows = data[table]
    if table == "referrals_by_partner":
        statuses = sorted({s for row in rows for s in row["by_status"]})
        columns = [*columns, *((f"by_status.{s}", s) for s in statuses)]
        rows = [{**row, **{f"by_status.{s}": row["by_status"].get(s, 0) for s in statuses}}
                for row in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _key, label in columns])
    for row in rows:
        writer.writerow([row.get(key, "") for key, _label in columns])
    # The BOM is what makes Excel read the file as UTF-8 rather than Shift_JIS.
    body = "\ufeff" + buffer.getvalue()
    name = f"caseapp-{table}-{period.first}_{period.last}.csv"
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
