from flask import Response, current_app
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.reports import LayerArgs, MonthlyArgs
from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.services.reports import layers, tables
from caseapp.services.reports import monthly as monthly_report

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


def _period(args):
    this_month = monthly_report.month_of(utcnow().astimezone(TOKYO).date())
    return monthly_report.Period.months(args.get("from_") or this_month,
                                        args.get("to") or this_month)


@blp.route("/areas", methods=["GET"])
@blp.arguments(LayerArgs, location="query")
@blp.response(200, description="Consultations and people per 地区 and 小地域 of the person's home")
@requires(Permission.REPORTS_READ)
def by_area(args):
    """The municipality's figures per 地区 and 小地域; unresolved addresses as 未判定."""
    return layers.municipality(db.session, current_actor(), _period(args))


@blp.route("/prefecture", methods=["GET"])
@blp.arguments(LayerArgs, location="query")
@blp.response(200, description="Counts per municipality and block; cells below 5 withheld")
@requires(Permission.PREFECTURE_REPORTS_READ)
def prefecture(args):
    """For the prefecture council: no personal data, small cells suppressed (null)."""
    return layers.prefecture(db.session, current_actor(), _period(args))


def _csv(data: dict, table: str, period) -> Response:
    name = tables.csv_name(table, period.first, period.last)
    return Response(tables.to_csv(data, table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
