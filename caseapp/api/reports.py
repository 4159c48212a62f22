from flask import Response, current_app
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.reports import MonthlyArgs
from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.services.reports import monthly as monthly_report
from caseapp.services.reports import tables

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports",
                description="統計: monthly figures for the city and the network")

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
    data = monthly_report.read(db.session, current_actor(), period, population, utcnow(),
                               format=args["format"])
    if args["format"] == "csv":
        return _csv(data, args["table"], period)
    return data


def _csv(data: dict, table: str, period) -> Response:
    name = tables.csv_name(table, period.first, period.last)
    return Response(tables.to_csv(data, table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
