"""``/community/``: the 小地域 in the console.

A community member (民生委員 …) lands on their own 小地域's watch list, with the fewest fields
(name, address, what to watch for, the last visit), and records a visit. The coordinator has the
queue, an area's watch list and meetings, a meeting with its printed sheet and the review form,
and the area's activity plan with its evaluations. Every page calls the same services as the
API, so the term check, the narrowing to the member's area and the audit of each read are theirs.
"""

from __future__ import annotations

from datetime import datetime

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from caseapp.domain.community import (
    EVALUATION_LABELS,
    MEETING_LABELS,
    MEMBER_ROLE_LABELS,
    TASK_LABELS,
    VISIT_LABELS,
    AreaLevel,
)
from caseapp.extensions import db
from caseapp.jp.wareki import parse_date
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.rules.vocab import TOPICS
from caseapp.services.community import areas, meetings, members, plans, queue, sheet_pdf, watch
from caseapp.services.core.errors import DomainError, Invalid
from caseapp.web import display, nav
from caseapp.web.access import console_blueprint, current_actor, member, staff

bp = console_blueprint("community_pages", __name__, url_prefix="/community")

nav.STAFF.append(nav.NavItem("見守りの対応", "community_pages.tasks",
                             also=("community_pages.area", "community_pages.meeting",
                                   "community_pages.plan", "community_pages.areas_index")))
nav.MEMBER.append(nav.NavItem("見守りリスト", "community_pages.member_home",
                              also=("community_pages.visit",)))

REQUIRED = "入力してください"
STAFF_ATTENDEE = "staff"


@bp.context_processor
def _labels() -> dict:
    return {"VISIT_LABELS": VISIT_LABELS, "MEETING_LABELS": MEETING_LABELS,
            "EVALUATION_LABELS": EVALUATION_LABELS, "TASK_LABELS": TASK_LABELS,
            "MEMBER_ROLE_LABELS": MEMBER_ROLE_LABELS, "TOPICS": TOPICS,
            "attendee_role": meetings.role_label}


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    # Another area's record is "not there" for a member (404), as in the API.
    if exc.status == 404:
        title, message = "見つかりません", "お探しのページは見つかりませんでした。"
    elif exc.status == 403:
        title, message = "このページは開けません", "このページを開く権限がありません。"
    else:
        title, message = "受け付けられませんでした", exc.detail
    return render_template("error.html", title=title, message=message,
                           back=url_for("home.index")), exc.status


def _tokyo_datetime(text: str) -> datetime:
    """An <input type=datetime-local> value, read as Tokyo time."""
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def _messages(exc: Invalid) -> dict[str, list[str]]:
    return dict(getattr(exc, "errors", None) or {})


# --------------------------------------------------------------------------- members


@bp.route("/")
@member
def member_home():
    rows = watch.listing(db.session, current_actor(), area_code=None, active=True, page=1,
                         per_page=500)
    me = members.of_actor(db.session, current_actor())
    return render_template("community/member_home.html", rows=rows.items, me=me)


@bp.route("/watch/<int:watch_id>/visit", methods=["GET", "POST"])
@member
def visit(watch_id: int):
    row = watch.get(db.session, current_actor(), watch_id)
    form = {"visited_at": datetime.now(TOKYO).strftime("%Y-%m-%dT%H:%M"), "status": "",
            "note": ""}
    if request.method == "GET":
        return render_template("community/visit.html", row=row, form=form, errors={})
    form = {key: request.form.get(key, "").strip() for key in form}
    errors: dict[str, list[str]] = {}
    data: dict = {"status": form["status"], "note": form["note"]}
    try:
        data["visited_at"] = _tokyo_datetime(form["visited_at"])
    except ValueError:
        errors["visited_at"] = ["訪問日時を「年-月-日 時:分」で入力してください"]
    if form["status"] not in VISIT_LABELS:
        errors["status"] = ["様子を選んでください"]
    if len(form["note"]) > 2000:
        errors["note"] = ["2000文字以内にしてください"]
    if not errors:
        try:
            watch.record_visit(db.session, current_actor(), watch_id, data)
        except Invalid as exc:
            errors = _messages(exc)
    if errors:
        return render_template("community/visit.html", row=row, form=form,
                               errors=errors), 422
    flash(f"{row.name} さんの訪問を記録しました。", "info")
    return redirect(url_for(".member_home"))


# --------------------------------------------------------------------------- coordinator


@bp.route("/tasks")
@staff(Permission.COMMUNITY_QUEUE)
def tasks():
    area_code = request.args.get("area") or None
    result = queue.listing(db.session, current_actor(), status=None, kind=None,
                           area_code=area_code, page=1, per_page=200)
    people = queue.people_of(db.session, current_actor(), result.items)
    return render_template("community/tasks.html", tasks=result.items, total=result.total,
                           people=people, area_code=area_code)


@bp.route("/tasks/<int:task_id>/done", methods=["POST"])
@staff(Permission.COMMUNITY_QUEUE)
def task_done(task_id: int):
    note = request.form.get("note", "").strip()[:2000] or "対応済み"
    queue.close(db.session, current_actor(), task_id, note)
    flash("対応済みにしました。", "info")
    return redirect(url_for(".tasks"))


@bp.route("/areas")
@staff(Permission.WATCH_READ)
def areas_index():
    result = areas.listing(db.session, current_actor(), visible=None,
                           level=AreaLevel.SMALL_AREA, under=request.args.get("under") or None,
                           page=1, per_page=500)
    return render_template("community/areas.html", areas=result.items)


@bp.route("/areas/<code>", methods=["GET", "POST"])
@staff(Permission.WATCH_READ)
def area(code: str):
    """The area's watch list and meetings; POST records a meeting."""
    form = {"kind": "", "held_on": "", "members": [], "others": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {"kind": request.form.get("kind", ""),
                "held_on": request.form.get("held_on", "").strip(),
                "members": request.form.getlist("members"),
                "others": request.form.get("others", "").strip()}
        created = _create_meeting(code, form, errors)
        if created is not None:
            held_on = display.with_wareki(created.held_on)
            flash(f"{created.kind_label}（{held_on}）を記録しました。", "info")
            return redirect(url_for(".meeting", meeting_id=created.id))
    place = areas.get_by_code(db.session, code)
    rows = watch.listing(db.session, current_actor(), area_code=code, active=True, page=1,
                         per_page=500)
    held = meetings.in_area(db.session, current_actor(), code)
    people = members.listing(db.session, current_actor(), area_code=code, page=1,
                             per_page=200)
    return render_template("community/area.html", place=place, rows=rows.items,
                           meetings=held, members=people.items, form=form,
                           errors=errors), 422 if errors else 200


def _create_meeting(code: str, form: dict, errors: dict):
    if form["kind"] not in MEETING_LABELS:
        errors["kind"] = ["会議の種類を選んでください"]
    held_on = None
    if not form["held_on"]:
        errors["held_on"] = [REQUIRED]
    else:
        try:
            held_on = parse_date(form["held_on"])
        except ValueError as exc:
            errors["held_on"] = [str(exc)]
    attendees: list[dict] = [{"member_id": int(m)} for m in form["members"] if m.isdigit()]
    # Others at the table, one a line: the council or the village office.
    attendees += [{"name": line.strip()[:100], "role": STAFF_ATTENDEE}
                  for line in form["others"].splitlines() if line.strip()]
    if errors:
        return None
    try:
        return meetings.create(db.session, current_actor(), {
            "kind": form["kind"], "area": code, "held_on": held_on, "attendees": attendees})
    except Invalid as exc:
        errors.update(_messages(exc))
        return None


@bp.route("/meetings/<int:meeting_id>")
@staff(Permission.MEETINGS_WRITE)
def meeting(meeting_id: int):
    return _meeting_page(meeting_id)


def _meeting_page(meeting_id: int, *, errors: dict | None = None, form: dict | None = None,
                  status: int = 200):
    found = meetings.get(db.session, current_actor(), meeting_id)
    rows = watch.listing(db.session, current_actor(), area_code=found.area_code, active=False,
                         page=1, per_page=500)
    reviewed = {r.watch_id: r for r in found.reviews}
    items = (plans.get(db.session, current_actor(), found.area_code).items
             if found.kind == "network_activity" else [])
    rated = {e.item_id: e for e in found.evaluations}
    return render_template("community/meeting.html", m=found, rows=rows.items,
                           reviewed=reviewed, items=items, rated=rated, errors=errors or {},
                           form=form or {}), status


@bp.route("/meetings/<int:meeting_id>/sheet.pdf")
@staff(Permission.MEETINGS_WRITE)
def sheet(meeting_id: int):
    pdf = sheet_pdf.render(meetings.sheet(db.session, current_actor(), meeting_id))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="meeting-{meeting_id}-sheet.pdf"'})


@bp.route("/meetings/<int:meeting_id>/reviews", methods=["POST"])
@staff(Permission.MEETINGS_WRITE)
def review(meeting_id: int):
    watch_id = request.form.get("watch_id", "")
    form = {"watch_id": watch_id, "status": request.form.get("status", ""),
            "note": request.form.get("note", "").strip(),
            "topics": request.form.getlist("topics"),
            "summary": request.form.get("summary", "").strip()}
    errors: dict[str, list[str]] = {}
    if form["status"] not in VISIT_LABELS:
        errors["status"] = ["様子を選んでください"]
    if len(form["note"]) > 2000:
        errors["note"] = ["2000文字以内にしてください"]
    need = None
    if form["topics"] or form["summary"]:  # a need found: both halves are wanted
        if not form["topics"] or any(t not in TOPICS for t in form["topics"]):
            errors["need.topics"] = ["相談の分野を一つ以上選んでください"]
        if not form["summary"]:
            errors["need.summary"] = ["困りごとの内容を入力してください"]
        need = {"topics": form["topics"], "summary": form["summary"][:5000]}
    if not watch_id.isdigit():
        errors["watch_id"] = ["見守りの対象者を選んでください"]
    if not errors:
        try:
            done = meetings.review(db.session, current_actor(), meeting_id, {
                "watch_id": int(watch_id), "status": form["status"], "note": form["note"],
                "need": need})
        except Invalid as exc:
            errors = _messages(exc)
        else:
            if done.routed_to:
                flash("困りごとを相談として受け付け、つなぎ先に回しました。", "info")
            else:
                flash("確認の結果を記録しました。", "info")
            return redirect(url_for(".meeting", meeting_id=meeting_id,
                                    _anchor=f"watch-{watch_id}"))
    db.session.rollback()
    return _meeting_page(meeting_id, errors=errors, form=form, status=422)


@bp.route("/meetings/<int:meeting_id>/evaluations", methods=["POST"])
@staff(Permission.PLANS_WRITE)
def evaluate(meeting_id: int):
    rows, errors = [], {}
    for key in request.form:
        if not key.startswith("rating-"):
            continue
        item_id = key.removeprefix("rating-")
        rating = request.form.get(key, "")
        if not rating:
            continue  # not evaluated this time
        if not item_id.isdigit() or rating not in EVALUATION_LABELS:
            errors[key] = ["評価を選んでください"]
            continue
        rows.append({"item_id": int(item_id), "rating": rating,
                     "note": request.form.get(f"note-{item_id}", "").strip()[:2000]})
    if not rows and not errors:
        errors["evaluations"] = ["評価する項目を一つ以上選んでください"]
    if not errors:
        try:
            meetings.evaluate(db.session, current_actor(), meeting_id, rows)
        except Invalid as exc:
            errors = _messages(exc)
        else:
            flash("計画の評価を記録しました。", "info")
            return redirect(url_for(".meeting", meeting_id=meeting_id, _anchor="plan"))
    return _meeting_page(meeting_id, errors=errors, form=dict(request.form), status=422)


@bp.route("/areas/<code>/plan")
@staff(Permission.PLANS_READ)
def plan(code: str):
    found = plans.get(db.session, current_actor(), code)
    return render_template("community/plan.html", plan=found)


@bp.route("/areas/<code>/plan.csv")
@staff(Permission.PLANS_READ)
def plan_csv(code: str):
    found = plans.get(db.session, current_actor(), code)
    return Response(plans.to_csv(found), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="plan-{found.area.code}.csv"'})
