"""``/reports/monthly``: the monthly report as a page for supervisors — charts, tables, CSV, print.

The figures are ``services.reports.monthly.read``'s, the same the API answers with, plus the
referral funnel over the steps a supervisor follows (requested → received → accepted →
completed). The charts are SVG drawn here, each with its numbers in words and in a table.
"""

import itertools

from flask import Response, current_app, render_template, request
from marshmallow import ValidationError, validate

from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.services.reports import monthly as monthly_report
from caseapp.services.reports import tables
from caseapp.services.rights.export import CHANNELS
from caseapp.web import charts, nav
from caseapp.web.access import console_blueprint, current_actor, staff

bp = console_blueprint("reports_pages", __name__, url_prefix="/reports")
nav.STAFF.append(nav.NavItem("統計", "reports_pages.monthly", permission=Permission.REPORTS_READ))

DEFAULT_MONTHS = 6
STEP_LABELS = {"requested": "依頼", "sent": "送付", "received": "受領", "accepted": "受理",
               "completed": "完了"}
CSV_LABELS = {"by_month": "月別", "by_topic": "相談内容別", "by_channel": "受付方法別",
              "by_district": "地区別", "by_event": "相談会別",
              "referrals_by_partner": "つなぎ先別", "rejections": "受け入れ不可の理由",
              "outcomes": "つなぎの結果"}


def _months_back(month: str, count: int) -> str:
    year, number = (int(x) for x in month.split("-"))
    index = year * 12 + number - 1 - (count - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_args(args, default_months: int = DEFAULT_MONTHS
                ) -> tuple[str, str, dict[str, list[str]]]:
    """The months asked for, checked with the API's messages; by default the months up to
    this one (six)."""
    this_month = monthly_report.month_of(utcnow().astimezone(TOKYO).date())
    first = args.get("from", "").strip() or None
    last = args.get("to", "").strip() or None
    errors: dict[str, list[str]] = {}
    for key, value in (("from", first), ("to", last)):
        if value is not None and not tables.is_month(value):
            errors[key] = [tables.MONTH_ERROR]
    if errors:
        return args.get("from", ""), args.get("to", ""), errors
    last = last or this_month
    first = first or _months_back(last, default_months)
    if first > last:
        errors["from"] = [tables.ORDER_ERROR]
    return first, last, errors


@bp.route("/monthly")
@staff(Permission.REPORTS_READ)
def monthly():
    first, last, errors = period_args(request.args)
    if errors:
        return render_template("reports/monthly.html", first=first, last=last, errors=errors,
                               data=None), 422
    period = monthly_report.Period.months(first, last)
    population = current_app.config["CASEAPP"].population
    data = monthly_report.read(db.session, current_actor(), period, population, utcnow(),
                               format="html")
    funnel = monthly_report.referral_funnel(db.session, period)
    return render_template("reports/monthly.html", first=first, last=last, errors={},
                           data=data, funnel=funnel, charts=_charts(data, funnel),
                           channel_labels=CHANNELS, step_labels=STEP_LABELS,
                           csv_labels=CSV_LABELS)


@bp.route("/monthly.csv")
@staff(Permission.REPORTS_READ)
def monthly_csv():
    first, last, errors = period_args(request.args)
    table = request.args.get("table", "by_month")
    try:
        validate.OneOf(list(tables.CSV_TABLES))(table)  # made here: the API's message
    except ValidationError as exc:
        errors["table"] = list(exc.messages)
    if errors:
        return render_template("reports/monthly.html", first=first, last=last, errors=errors,
                               data=None), 422
    period = monthly_report.Period.months(first, last)
    data = monthly_report.read(db.session, current_actor(), period,
                               current_app.config["CASEAPP"].population, utcnow(), format="csv")
    name = tables.csv_name(table, period.first, period.last)
    return Response(tables.to_csv(data, table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _charts(data: dict, funnel: dict) -> dict:
    months = data["by_month"]
    steps = list(funnel["counts"])
    medians = funnel["median_days"]
    notes = [""] + [("前の段階から中央値 " + f"{medians[f'{a}_to_{b}']:g} 日"
                     if medians[f"{a}_to_{b}"] is not None else "前の段階からの日数なし")
                    for a, b in itertools.pairwise(steps)]
    return {
        "by_month": charts.columns(
            "chart-month", "月別の相談件数",
            [m["month"] for m in months],
            [("相談件数", "hatch", [m["consultations"] for m in months]),
             ("うち匿名", "dots", [m["anonymous"] for m in months])]),
        "by_topic": charts.horizontal(
            "chart-topic", "相談内容別の件数（1件の相談に複数の内容があります）",
            [(row["label"], row["count"]) for row in data["by_topic"]]),
        "by_channel": charts.horizontal(
            "chart-channel", "受付方法別の相談件数",
            [(CHANNELS.get(row["channel"], row["channel"]), row["count"])
             for row in data["by_channel"]], pattern="dots"),
        "funnel": charts.horizontal(
            "chart-funnel", "つなぎの流れ（この期間に依頼したつなぎ）",
            [(STEP_LABELS[step], funnel["counts"][step]) for step in steps],
            pattern="solid", notes=notes),
        "per_100k": charts.horizontal(
            "chart-per100k", "人口10万人あたりの新規相談受付件数",
            [(m["month"], m["new_cases_per_100k"]) for m in months], unit=""),
    }


__all__ = ["bp"]
