from flask import Response
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.common import PageArgs
from caseapp.api.schemas.events import (
    REPORT_RESPONSES,
    EventIn,
    EventListArgs,
    EventOut,
    EventPage,
    EventPatch,
    QueuePage,
    ReportArgs,
    ReportOut,
    TeamIn,
    TeamOut,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.events import event_report, events, teams

blp = Blueprint("events", __name__, url_prefix="/api/v1",
                description="相談会 (e.g. 夜間相談会): events, the evening's queue, on-the-spot "
                            "teams and the after-event report")


@blp.route("/events", methods=["POST"])
@blp.arguments(EventIn)
@blp.response(201, EventOut)
@requires(Permission.EVENTS_WRITE)
def create(data):
    """Register an event with the partners (and specialists) present."""
    return events.create(db.session, current_actor(), data)


@blp.route("/events", methods=["GET"])
@blp.arguments(EventListArgs, location="query")
@blp.response(200, EventPage)
@requires(Permission.EVENTS_READ)
def listing(args):
    """Events, latest first; `from` and `to` limit the dates."""
    return events.listing(db.session, page=args["page"], per_page=args["per_page"],
                          since=args.get("date_from"), until=args.get("date_to"))


@blp.route("/events/<int:event_id>", methods=["GET"])
@blp.response(200, EventOut)
@requires(Permission.EVENTS_READ)
def get(event_id):
    """One event with the partners present and how many consultations it has."""
    return events.get(db.session, event_id)


@blp.route("/events/<int:event_id>", methods=["PATCH"])
@blp.arguments(EventPatch)
@blp.response(200, EventOut)
@requires(Permission.EVENTS_WRITE)
def patch(data, event_id):
    """Change an event, e.g. add a partner who turned up; `partners` replaces the list."""
    return events.update(db.session, current_actor(), event_id, data)


@blp.route("/events/<int:event_id>/consultations", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, QueuePage)
@requires(Permission.EVENTS_READ)
def queue(args, event_id):
    """The evening's queue: consultations in arrival order with team outcome and referrals."""
    return events.queue(db.session, current_actor(), event_id, page=args["page"],
                        per_page=args["per_page"])


@blp.route("/events/<int:event_id>/report", methods=["GET"])
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportOut)
@blp.doc(responses=REPORT_RESPONSES)
@requires(Permission.EVENTS_READ)
def report(args, event_id):
    """The after-event report; `?format=csv` gives it as CSV for Excel (UTF-8 with BOM)."""
    built = event_report.build(db.session, current_actor(), event_id)
    if args["format"] != "csv":
        return built
    return Response(event_report.to_csv(built), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="event-{event_id}-report.csv"'})


@blp.route("/consultations/<int:consultation_id>/team", methods=["POST"])
@blp.arguments(TeamIn)
@blp.response(201, TeamOut)
@blp.alt_response(200, schema=TeamOut, description="an earlier team record was replaced")
@requires(Permission.EVENTS_WRITE)
def record_team(data, consultation_id):
    """Record the on-the-spot team and outcome; re-posting replaces the record."""
    result = teams.record(db.session, current_actor(), consultation_id, data)
    return result, 201 if result.created else 200


@blp.route("/consultations/<int:consultation_id>/team", methods=["GET"])
@blp.response(200, TeamOut)
@requires(Permission.EVENTS_READ)
def get_team(consultation_id):
    """The team record of one consultation (audited read)."""
    team = teams.get(db.session, current_actor(), consultation_id)
    return team
