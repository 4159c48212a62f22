"""``/events/``: 相談会 mode — the evening set up, walk-ins taken on a tablet, the queue board.

Every change goes through the services the API uses (events, intake, routing, teams,
event_report); the pages only turn form fields into the same plain data and the answers into
HTML. The queue board asks for a cheap stamp every few seconds and reloads the queue (an
audited read) only when the stamp has moved.
"""

from datetime import datetime, time

from flask import Response, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError, validate

from caseapp.domain.vocab import TeamOutcome
from caseapp.extensions import db
from caseapp.jp.wareki import parse_date
from caseapp.models.types import utcnow
from caseapp.permissions import Permission
from caseapp.rules import TOPICS, URGENCIES
from caseapp.rules.calendar import TOKYO
from caseapp.services.core.errors import DomainError, Invalid, NotFound
from caseapp.services.events import event_report, events, teams
from caseapp.services.intake import consultations, routing
from caseapp.services.network import partners as partner_directory
from caseapp.services.referrals.letters import URGENCY as URGENCY_LABELS
from caseapp.web import nav
from caseapp.web.access import console_blueprint, current_actor, staff

bp = console_blueprint("events_pages", __name__, url_prefix="/events")
nav.STAFF.append(nav.NavItem("相談会", "events_pages.index", also=(
    "events_pages.evening", "events_pages.report")))

QUEUE_SIZE = 200  # one evening's walk-ins fit on one board
POLL_SECONDS = 3
OUTCOMES = [(TeamOutcome.RESOLVED_ON_SITE.value, "その場で解決"),
            (TeamOutcome.REFERRED.value, "つなぐ"),
            (TeamOutcome.FOLLOW_UP.value, "継続対応")]


def _check(errors: dict, key: str, validator, value) -> None:
    """The API schema's validator on one value, so the message beside the field is the API's.

    Made per call: the validators take their Japanese messages when they are made, after the
    API's schemas have installed them.
    """
    try:
        validator(value)
    except ValidationError as exc:
        errors.setdefault(key, []).extend(exc.messages)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return render_template("error.html", title="見つかりません",
                           message="指定された相談会または相談は登録されていません。",
                           back=url_for("events_pages.index")), 404


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    # A conflict or refusal the form could not show beside a field.
    return render_template("error.html", title="受け付けられませんでした", message=exc.detail,
                           back=request.referrer or url_for("events_pages.index")), exc.status


# ---- the list and creating an evening ----

@bp.route("/")
@staff(Permission.EVENTS_READ)
def index():
    page = events.listing(db.session, page=1, per_page=50)
    return render_template("events/index.html", page=page, partners=_active_partners(),
                           form=_blank_event_form(), errors={})


@bp.route("/", methods=["POST"])
@staff(Permission.EVENTS_WRITE)
def create():
    form = request.form
    errors: dict[str, list[str]] = {}
    data = _event_data(form, errors)
    data["partners"] = _partner_entries(form)
    if not errors:
        try:
            created = events.create(db.session, current_actor(), data)
        except Invalid as exc:
            errors = exc.errors or {"_": [exc.detail]}
        else:
            flash(f"相談会「{created.event.name}」を登録しました。", "success")
            return redirect(url_for("events_pages.evening", event_id=created.event.id))
    page = events.listing(db.session, page=1, per_page=50)
    return render_template("events/index.html", page=page, partners=_active_partners(),
                           form=form, errors=errors), 422


def _blank_event_form() -> dict:
    return {"date": datetime.now(TOKYO).date().isoformat(), "starts": "18:00", "ends": "21:00"}


def _event_data(form, errors: dict) -> dict:
    data: dict = {"name": form.get("name", "").strip(), "venue": form.get("venue", "").strip()
                  or None}
    if not data["name"]:
        errors["name"] = ["名称を入力してください"]
    _check(errors, "name", validate.Length(max=200), data["name"])
    if data["venue"]:
        _check(errors, "venue", validate.Length(max=200), data["venue"])
    try:
        day = parse_date(form.get("date", "").strip())
    except ValueError as exc:
        errors["date"] = [str(exc)]
        return data
    data["date"] = day
    for key, field in (("starts_at", "starts"), ("ends_at", "ends")):
        value = form.get(field, "").strip()
        if not value:
            data[key] = None
            continue
        try:
            data[key] = datetime.combine(day, time.fromisoformat(value), TOKYO)
        except ValueError:
            errors[key] = ["時刻は 18:30 の形で入力してください"]
    return data


def _partner_entries(form) -> list[dict]:
    """Ticked partners in the directory's order, each with the specialists typed beside it."""
    entries = []
    for code in form.getlist("partners"):
        typed = form.get(f"specialists-{code}", "")
        names = [n.strip() for n in typed.replace("、", ",").split(",") if n.strip()]
        entries.append({"code": code, "specialists": names})
    return entries


def _active_partners() -> list:
    return list(partner_directory.listing(db.session, active=True, page=1, per_page=200).items)


# ---- the evening: partners present, walk-in form, queue board ----

@bp.route("/<int:event_id>")
@staff(Permission.EVENTS_READ)
def evening(event_id: int):
    details = events.get(db.session, event_id)
    show = request.args.get("show", "all")
    if show not in ("all", "intake", "board"):
        show = "all"
    return render_template("events/evening.html", details=details, show=show,
                           partners=_active_partners(), partner_errors={},
                           walk_in=_blank_walk_in(), walk_in_errors={}, saved=None,
                           **_board(details))


@bp.route("/<int:event_id>/partners", methods=["POST"])
@staff(Permission.EVENTS_WRITE)
def set_partners(event_id: int):
    try:
        events.update(db.session, current_actor(), event_id,
                      {"partners": _partner_entries(request.form)})
    except Invalid as exc:
        details = events.get(db.session, event_id)
        return render_template("events/evening.html", details=details, show="all",
                               partners=_active_partners(),
                               partner_errors=exc.errors or {"partners": [exc.detail]},
                               walk_in=_blank_walk_in(), walk_in_errors={}, saved=None,
                               **_board(details)), 422
    flash("参加している連携機関を更新しました。", "success")
    return redirect(url_for("events_pages.evening", event_id=event_id))


def _blank_walk_in() -> dict:
    return {"topics": [], "urgency": "normal", "name": "", "summary": ""}


def _walk_in_data(form, event_id: int, errors: dict) -> dict:
    """The form as the intake service takes it: channel ``event``, anonymous unless named."""
    topics = form.getlist("topics")
    for topic in dict.fromkeys(topics):
        _check(errors, "topics", validate.OneOf(list(TOPICS)), topic)
    urgency = form.get("urgency") or "normal"
    _check(errors, "urgency", validate.OneOf(URGENCIES), urgency)
    data = {"channel": "event", "event_id": event_id, "topics": topics, "urgency": urgency,
            "summary": form.get("summary", "").strip()}
    _check(errors, "summary", validate.Length(max=20000), data["summary"])
    name = form.get("name", "").strip()
    if name:
        _check(errors, "client.name", validate.Length(max=200), name)
        data["client"] = {"name": name}
    return data


@bp.route("/<int:event_id>/walk-ins", methods=["POST"])
@staff(Permission.CONSULTATIONS_WRITE)
def walk_in(event_id: int):
    details = events.get(db.session, event_id)
    errors: dict[str, list[str]] = {}
    data = _walk_in_data(request.form, event_id, errors)
    saved = None
    if not errors:
        try:
            saved = consultations.record(db.session, current_actor(), data).consultation
        except Invalid as exc:
            errors = exc.errors or {"_": [exc.detail]}
    htmx = bool(request.headers.get("HX-Request"))
    if errors:
        form = {**_blank_walk_in(), **request.form.to_dict(), "topics": data["topics"]}
        if htmx:
            return render_template("events/_walk_in.html", details=details, walk_in=form,
                                   walk_in_errors=errors, saved=None), 422
        return render_template("events/evening.html", details=details, show="intake",
                               partners=_active_partners(), partner_errors={}, walk_in=form,
                               walk_in_errors=errors, saved=None, **_board(details)), 422
    number = _arrival_number(saved)
    if not htmx:
        flash(f"{number} 番目の方を受け付けました。", "success")
        return redirect(url_for("events_pages.evening", event_id=event_id, show="intake"))
    # The tablet's own board (if shown) reloads at once; the others on their next poll.
    return (render_template("events/_walk_in.html", details=details, walk_in=_blank_walk_in(),
                            walk_in_errors={}, saved={"number": number,
                                                      "consultation": saved}),
            200, {"HX-Trigger": "queue-changed"})


def _arrival_number(consultation) -> int:
    # The evening's count right after the save: this walk-in's place in the arrival order.
    return events.consultation_counts(db.session, [consultation.event_id]).get(
        consultation.event_id, 0)


@bp.route("/<int:event_id>/preview", methods=["POST"])
@staff(Permission.RULES_READ)
def preview(event_id: int):
    """Where the walk-in would go: the same dry run as POST /api/v1/rules/evaluate."""
    details = events.get(db.session, event_id)
    errors: dict[str, list[str]] = {}
    data = _walk_in_data(request.form, event_id, errors)
    if errors:
        return render_template("events/_preview.html", result=None, errors=errors), 422
    data.pop("client", None)  # a typed name plays no part in routing
    result = routing.evaluate(db.session, current_actor(), data)
    names = {p.code: p.name for p in _active_partners()}
    present = set(details.event.partners or [])
    return render_template("events/_preview.html", result=result, names=names,
                           present=present, errors={})


# ---- the queue board ----

@bp.route("/<int:event_id>/queue")
@staff(Permission.EVENTS_READ)
def queue(event_id: int):
    """The board's body; 204 (nothing to swap) while its stamp has not moved."""
    stamp = events.queue_stamp(db.session, event_id)
    if request.args.get("stamp") == stamp:
        return Response(status=204)
    details = events.get(db.session, event_id)
    return render_template("events/_board.html", details=details, **_board(details, stamp))


@bp.route("/<int:event_id>/consultations/<int:consultation_id>/team", methods=["POST"])
@staff(Permission.EVENTS_WRITE)
def record_team(event_id: int, consultation_id: int):
    """Two taps: the partners who sat with the person, then the outcome button."""
    details = events.get(db.session, event_id)
    codes = request.form.getlist("partners")
    outcome = request.form.get("outcome", "")
    problems: list[str] = []
    if not codes:
        problems.append("対応した連携機関を選んでください")
    if outcome not in dict(OUTCOMES):
        problems.append("対応結果を選んでください")
    if not problems:
        try:
            teams.record(db.session, current_actor(), consultation_id,
                         {"partners": codes, "outcome": outcome, "note": ""})
        except DomainError as exc:  # refused, or a conflict with a save made at once
            problems = [m for messages in (exc.errors or {"_": [exc.detail]}).values()
                        for m in messages]
    board = _board(details, errors={consultation_id: problems} if problems else None,
                   picked={consultation_id: codes} if problems else None)
    body = render_template("events/_board.html", details=details, **board)
    if not request.headers.get("HX-Request"):
        if problems:
            return render_template("events/evening.html", details=details, show="board",
                                   partners=_active_partners(), partner_errors={},
                                   walk_in=_blank_walk_in(), walk_in_errors={}, saved=None,
                                   **board), 422
        flash("チーム対応を記録しました。", "success")
        return redirect(url_for("events_pages.evening", event_id=event_id, show="board"))
    return body, 422 if problems else 200


def _board(details, stamp: str | None = None, *, errors: dict | None = None,
           picked: dict | None = None) -> dict:
    event_id = details.event.id
    stamp = stamp or events.queue_stamp(db.session, event_id)
    page = events.queue(db.session, current_actor(), event_id, page=1, per_page=QUEUE_SIZE)
    now = utcnow()
    rows = []
    for number, consultation in enumerate(page.items, start=1):
        team = consultation.team
        until = team.recorded_at if team is not None else now
        rows.append({"number": number, "c": consultation, "team": team,
                     "waiting": max(0, int((until - consultation.received_at).total_seconds()
                                           // 60)),
                     "waiting_open": team is None})
    return {"rows": rows, "total": page.total, "stamp": stamp, "poll": POLL_SECONDS,
            "team_errors": errors or {}, "picked": picked or {}}


# ---- after the evening ----

@bp.route("/<int:event_id>/report")
@staff(Permission.EVENTS_READ)
def report(event_id: int):
    built = event_report.build(db.session, current_actor(), event_id)
    return render_template("events/report.html", report=built, event_id=event_id)


@bp.route("/<int:event_id>/report.csv")
@staff(Permission.EVENTS_READ)
def report_csv(event_id: int):
    built = event_report.build(db.session, current_actor(), event_id)
    return Response(event_report.to_csv(built), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="event-{event_id}-report.csv"'})


@bp.app_template_filter("tokyo_time")
def _tokyo_time(moment: datetime | None, fmt: str = "%H:%M") -> str:
    return "" if moment is None else moment.astimezone(TOKYO).strftime(fmt)


@bp.app_context_processor
def _labels() -> dict:
    return {"TOPIC_LABELS": TOPICS, "URGENCY_LABELS": URGENCY_LABELS, "OUTCOMES": OUTCOMES,
            "OUTCOME_LABELS": event_report.OUTCOME_LABELS,
            "STATUS_LABELS": event_report.STATUS_LABELS}
