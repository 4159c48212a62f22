"""``/prefecture``: the prefecture council's page — consultations and new cases per municipality
and block, as the API's prefecture report gives them: no personal data, small cells withheld."""

from flask import Response, render_template, request

from caseapp.extensions import db
from caseapp.services.reports import layers
from caseapp.services.reports import monthly as monthly_report
from caseapp.web import nav
from caseapp.web.access import console_blueprint, current_actor, prefecture_user
from caseapp.web.reports_pages import period_args

bp = console_blueprint("prefecture_pages", __name__)
nav.PREFECTURE.append(nav.NavItem("県域の集計", "prefecture_pages.report"))

DEFAULT_MONTHS = 1  # this month, as the API


def _figures():
    """The asked months' figures, or the page again with what is wrong (422)."""
    first, last, errors = period_args(request.args, DEFAULT_MONTHS)
    if errors:
        return None, (render_template("reports/prefecture.html", first=first, last=last,
                                      errors=errors, data=None, small=layers.SMALL_CELL), 422)
    data = layers.prefecture(db.session, current_actor(),
                             monthly_report.Period.months(first, last))
    return (first, last, data), None


@bp.route("/prefecture")
@prefecture_user
def report():
    found, refused = _figures()
    if refused:
        return refused
    first, last, data = found
    return render_template("reports/prefecture.html", first=first, last=last, errors={},
                           data=data, small=layers.SMALL_CELL, withheld=layers.WITHHELD)


@bp.route("/prefecture.csv")
@prefecture_user
def report_csv():
    found, refused = _figures()
    if refused:
        return refused
    first, last, data = found
    name = f"caseapp-prefecture-{first}_{last}.csv"
    return Response(layers.prefecture_csv(data), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


__all__ = ["bp"]
