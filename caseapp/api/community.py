from flask import Response
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.community import (
    PLAN_RESPONSES,
    SHEET_RESPONSES,
    AreaListArgs,
    AreaPage,
    EvaluationList,
    EvaluationsIn,
    MeetingIn,
    MeetingOut,
    MemberListArgs,
    MemberPage,
    PlanArgs,
    PlanItemIn,
    PlanItemOut,
    PlanOut,
    ReviewIn,
    ReviewOut,
    TaskDoneIn,
    TaskListArgs,
    TaskOut,
    TaskPage,
    VisitIn,
    VisitOut,
    WatchIn,
    WatchListArgs,
    WatchOut,
    WatchPage,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.community import (
    areas,
    meetings,
    members,
    plans,
    queue,
    sheet_pdf,
    watch,
)

blp = Blueprint("community", __name__, url_prefix="/api/v1",
                description="小地域: areas, community members (民生委員 …), "
                            "the watch list (見守り), "
                            "small-area meetings, activity plans and the coordinator's queue")


@blp.route("/areas", methods=["GET"])
@blp.arguments(AreaListArgs, location="query")
@blp.response(200, AreaPage)
@requires(Permission.AREAS_READ)
def list_areas(args):
    """The area tree as a flat list by code; a member sees their 小地域 and those above it."""
    return areas.listing(db.session, current_actor(),
                         visible=members.visible_area_ids(db.session, current_actor()),
                         level=args.get("level"), under=args.get("under"), page=args["page"],
                         per_page=args["per_page"])


@blp.route("/members", methods=["GET"])
@blp.arguments(MemberListArgs, location="query")
@blp.response(200, MemberPage)
@requires(Permission.MEMBERS_READ)
def list_members(args):
    """Community members, by area; `caseapp members create` adds one."""
    return members.listing(db.session, current_actor(), area_code=args.get("area"),
                           page=args["page"], per_page=args["per_page"])


@blp.route("/watch", methods=["POST"])
@blp.arguments(WatchIn)
@blp.response(201, WatchOut)
@requires(Permission.WATCH_WRITE)
def create_watch(data):
    """Put a person on a 小地域's watch list, with the basis (consent or the 名簿 provision)."""
    return watch.create(db.session, current_actor(), data)


@blp.route("/watch", methods=["GET"])
@blp.arguments(WatchListArgs, location="query")
@blp.response(200, WatchPage)
@requires(Permission.WATCH_READ)
def list_watch(args):
    """An area's watch list (audited); a member gets their own 小地域's, with the fewest fields."""
    return watch.listing(db.session, current_actor(), area_code=args.get("area"),
                         active=args["active"], page=args["page"], per_page=args["per_page"])


@blp.route("/watch/<int:watch_id>", methods=["GET"])
@blp.response(200, WatchOut)
@requires(Permission.WATCH_READ)
def get_watch(watch_id):
    """One watched person (audited); staff also see the basis and the visits."""
    return watch.get(db.session, current_actor(), watch_id)


@blp.route("/watch/<int:watch_id>/visits", methods=["POST"])
@blp.arguments(VisitIn)
@blp.response(201, VisitOut)
@requires(Permission.VISITS_WRITE)
def record_visit(data, watch_id):
    """Record a visit; `needs_attention` or `unreachable` puts it in the coordinator's queue."""
    return watch.record_visit(db.session, current_actor(), watch_id, data)


@blp.route("/meetings", methods=["POST"])
@blp.arguments(MeetingIn)
@blp.response(201, MeetingOut)
@requires(Permission.MEETINGS_WRITE)
def create_meeting(data):
    """Record a 小地域ケア会議 or 小地域ネットワーク会議 (held_on in 和暦 too) and who sat at it."""
    return meetings.create(db.session, current_actor(), data)


@blp.route("/meetings/<int:meeting_id>", methods=["GET"])
@blp.response(200, MeetingOut)
@requires(Permission.MEETINGS_READ)
def get_meeting(meeting_id):
    """A meeting; staff also see its reviews and evaluations, a member only if they attended."""
    return meetings.get(db.session, current_actor(), meeting_id)


@blp.route("/meetings/<int:meeting_id>/sheet.pdf", methods=["GET"])
@blp.doc(responses=SHEET_RESPONSES)
@requires(Permission.MEETINGS_READ)
def meeting_sheet(meeting_id):
    """The printed sheet: watched people the attendees may see, and the plan (a disclosure)."""
    pdf = sheet_pdf.render(meetings.sheet(db.session, current_actor(), meeting_id))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="meeting-{meeting_id}-sheet.pdf"'})


@blp.route("/meetings/<int:meeting_id>/reviews", methods=["POST"])
@blp.arguments(ReviewIn)
@blp.response(201, ReviewOut)
@requires(Permission.MEETINGS_WRITE)
def review(data, meeting_id):
    """How a watched person is; a `need` becomes a consultation at the counter, routed."""
    return meetings.review(db.session, current_actor(), meeting_id, data)


@blp.route("/meetings/<int:meeting_id>/evaluations", methods=["POST"])
@blp.arguments(EvaluationsIn)
@blp.response(200, EvaluationList)
@requires(Permission.PLANS_WRITE)
def evaluate(data, meeting_id):
    """Evaluate plan items at a 地域福祉活動ネットワーク会議 (達成, 一部達成, 未着手, 見直し)."""
    return {"evaluations": meetings.evaluate(db.session, current_actor(), meeting_id,
                                             data["evaluations"])}


@blp.route("/areas/<code>/plan", methods=["GET"])
@blp.arguments(PlanArgs, location="query")
@blp.response(200, PlanOut)
@blp.doc(responses=PLAN_RESPONSES)
@requires(Permission.PLANS_READ)
def get_plan(args, code):
    """An area's activity plan with each evaluation; `?format=csv` for Excel."""
    plan = plans.get(db.session, current_actor(), code)
    if args["format"] != "csv":
        return plan
    return Response(plans.to_csv(plan), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="plan-{plan.area.id}.csv"'})


@blp.route("/areas/<code>/plan/items", methods=["POST"])
@blp.arguments(PlanItemIn)
@blp.response(201, PlanItemOut)
@requires(Permission.PLANS_WRITE)
def add_plan_item(data, code):
    """Add an item (with a target and an owner) to an area's 実施計画."""
    return plans.add_item(db.session, current_actor(), code, data)


@blp.route("/community/tasks", methods=["GET"])
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPage)
@requires(Permission.COMMUNITY_QUEUE)
def list_tasks(args):
    """The coordinator's queue: unvisited, needing attention, meetings overdue (open by default)."""
    return queue.listing(db.session, current_actor(), status=args.get("status"),
                         kind=args.get("kind"), area_code=args.get("area"), page=args["page"],
                         per_page=args["per_page"])


@blp.route("/community/tasks/<int:task_id>/done", methods=["POST"])
@blp.arguments(TaskDoneIn)
@blp.response(200, TaskOut)
@requires(Permission.COMMUNITY_QUEUE)
def close_task(data, task_id):
    """Mark a next action done, with a note."""
    return queue.close(db.session, current_actor(), task_id, data["note"])
