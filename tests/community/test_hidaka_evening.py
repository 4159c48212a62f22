"""A Hidaka district's evening, end to end: the sheet printed, each watched person reviewed, one
need sent to the counter and routed, the plan evaluated; and the next district sees none of it."""

import csv
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from caseapp.models import AuditEntry, Consultation, MeetingReview, WatchDisclosure
from tests.community.conftest import DISTRICT, NEXT_DISTRICT, make_member, new_client
from tests.helpers import assert_problem

WATCHED = (
    # name, address, scope (roles the basis lets see the person), basis
    ("山崎 ハル", "日高村本郷1-2", ["minsei", "fukushi", "shobodan"], "consent"),
    ("岡林 トメ", "日高村本郷3-4", ["minsei", "fukushi", "jichikai", "shobodan"],
     "evacuation_register"),
    ("片岡 ミツ", "日高村本郷5-6", ["minsei"], "consent"),
)
MEMBER_FIELDS = {"id", "area", "area_name", "name", "address", "watch_for", "last_visit_at",
                 "last_visit_status", "last_visit_label"}


def basis(kind, scope):
    if kind == "consent":
        return {"kind": "consent", "scope": scope, "method": "written",
                "given_at": "2026-10-01T10:00:00+09:00"}
    return {"kind": "evacuation_register", "scope": scope,
            "provision": "日高村避難行動要支援者名簿"
                         "（災害対策基本法第49条の11第2項、条例による平常時提供）",
            "provided_on": "令和8年4月1日"}


@pytest.fixture
def evening(api, hidaka):
    minsei_id, _ = hidaka["minsei"]
    watched = []
    for name, address, scope, kind in WATCHED:
        client_id = new_client(api, name, address)
        made = api.post("/api/v1/watch", json={
            "client_id": client_id, "area": DISTRICT,
            "watch_for": "一人暮らし。雨戸が閉まったままなら声かけ",
            "basis": basis(kind, scope), "watchers": [minsei_id]})
        assert made.status_code == 201, made.json
        watched.append(made.json)
    items = []
    for title, target in (("ふれあいサロンの開催", "月1回、参加者15人"),
                          ("防災マップの更新", "年度内に全戸の確認")):
        made = api.post(f"/api/v1/areas/{DISTRICT}/plan/items",
                        json={"title": title, "target": target, "owner": "福祉委員会"})
        assert made.status_code == 201, made.json
        items.append(made.json["id"])
    return {"watched": watched, "items": items}


def test_the_district_evening_end_to_end(api, hidaka, evening, session):
    minsei_id, minsei_token = hidaka["minsei"]
    fukushi_id, _ = hidaka["fukushi"]
    member = api.as_(minsei_token)
    a, b, c = evening["watched"]

    # Before the meeting the 民生委員 reads the list: names, addresses, what to watch, last visit.
    listed = member.get("/api/v1/watch")
    assert listed.status_code == 200, listed.json
    assert [w["id"] for w in listed.json["items"]] == [a["id"], b["id"], c["id"]]
    for item in listed.json["items"]:
        assert set(item) <= MEMBER_FIELDS
        assert "client_id" not in item and "basis" not in item
    visit = member.post(f"/api/v1/watch/{a['id']}/visits", json={
        "visited_at": "2026-11-20T10:00:00+09:00", "status": "no_change", "note": "元気"})
    assert visit.status_code == 201, visit.json

    # The 見守り支援ネットワーク会議 and the 地域福祉活動ネットワーク会議, on the same day.
    attendees = [{"member_id": minsei_id}, {"member_id": fukushi_id},
                 {"name": "消防団 第3分団長", "role": "shobodan"},
                 {"name": "社協 山本", "role": "staff"}]
    watch_meeting = api.post("/api/v1/meetings", json={
        "kind": "network_watch", "area": DISTRICT, "held_on": "令和8年11月27日",
        "attendees": attendees})
    assert watch_meeting.status_code == 201, watch_meeting.json
    assert watch_meeting.json["held_on"] == "2026-11-27"
    assert watch_meeting.json["kind_label"] == "見守り支援ネットワーク会議"
    meeting_id = watch_meeting.json["id"]

    # The sheet: those every attendee may see (the 消防団 may not see 片岡さん), and the plan.
    sheet = api.get(f"/api/v1/meetings/{meeting_id}/sheet.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    assert b"IPAexGothic" in sheet.data and b"/FontFile2" in sheet.data
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(sheet.data)).pages)
    compact = text.replace(" ", "").replace("\n", "")
    assert "山崎ハル" in compact and "岡林トメ" in compact and "片岡ミツ" not in compact
    assert "日高村本郷1-2" in compact and "雨戸が閉まったまま" in compact
    assert "ほか1名" in compact
    assert "ふれあいサロンの開催" in compact and "防災マップの更新" in compact
    assert "令和8年11月27日" in compact and "変わりなし" in compact
    disclosed = session.execute(select(WatchDisclosure.watch_id, WatchDisclosure.basis)
                                .where(WatchDisclosure.meeting_id == meeting_id)).all()
    assert sorted(disclosed) == sorted([(a["id"], "consent"), (b["id"], "evacuation_register")])
    # A member who sat at the table may print it too; the same people are on it.
    assert member.get(f"/api/v1/meetings/{meeting_id}/sheet.pdf").status_code == 200

    # Each watched person reviewed; a need found for 岡林さん goes to the counter.
    for entry, status in ((a, "no_change"), (c, "hospitalised")):
        done = api.post(f"/api/v1/meetings/{meeting_id}/reviews",
                        json={"watch_id": entry["id"], "status": status, "note": "確認"})
        assert done.status_code == 201, done.json
        assert done.json["consultation_id"] is None
    need = api.post(f"/api/v1/meetings/{meeting_id}/reviews", json={
        "watch_id": b["id"], "status": "needs_attention", "note": "物忘れが増えた",
        "need": {"topics": ["elder_care"], "summary": "介護保険の申請を家族と相談したい"}})
    assert need.status_code == 201, need.json
    assert "hidaka_houkatsu" in need.json["routed_to"]
    consultation = api.get(f"/api/v1/consultations/{need.json['consultation_id']}").json
    assert consultation["client_id"] == b["client_id"]
    assert consultation["channel"] == "outreach"
    assert "見守り支援ネットワーク会議" in consultation["summary"]
    assert any(r["partner"] == "hidaka_houkatsu" for r in consultation["referrals"])
    again = api.post(f"/api/v1/meetings/{meeting_id}/reviews",
                     json={"watch_id": a["id"], "status": "no_change"})
    assert_problem(again, 409)
    reviewed = api.get(f"/api/v1/meetings/{meeting_id}").json["reviews"]
    assert sorted(r["watch_id"] for r in reviewed) == sorted(e["id"] for e in (a, b, c))
    assert session.scalar(select(func.count()).select_from(Consultation)) == 1

    # The plan evaluated at the activity meeting, and its history as CSV.
    activity = api.post("/api/v1/meetings", json={
        "kind": "network_activity", "area": DISTRICT, "held_on": "2026-11-27",
        "attendees": attendees}).json
    first, second = evening["items"]
    not_here = api.post(f"/api/v1/meetings/{meeting_id}/evaluations",
                        json={"evaluations": [{"item_id": first, "rating": "達成"}]})
    assert_problem(not_here, 409)
    rated = api.post(f"/api/v1/meetings/{activity['id']}/evaluations", json={"evaluations": [
        {"item_id": first, "rating": "達成", "note": "毎月開催できた"},
        {"item_id": second, "rating": "partly", "note": "半分の世帯を確認"}]})
    assert rated.status_code == 200, rated.json
    assert [e["rating_label"] for e in rated.json["evaluations"]] == ["達成", "一部達成"]
    plan = api.get(f"/api/v1/areas/{DISTRICT}/plan").json
    assert [i["evaluations"][0]["rating"] for i in plan["items"]] == ["achieved", "partly"]
    exported = api.get(f"/api/v1/areas/{DISTRICT}/plan?format=csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][3] == "ふれあいサロンの開催" and rows[1][10] == "達成"
    assert rows[2][10] == "一部達成" and rows[1][9] == "2026-11-27"


def test_a_member_of_the_next_district_sees_none_of_it(api, hidaka, evening, session, tokens):
    neighbour = api.as_(hidaka["neighbour"][1])
    a = evening["watched"][0]
    minsei_id = hidaka["minsei"][0]
    meeting = api.post("/api/v1/meetings", json={
        "kind": "network_watch", "area": DISTRICT, "held_on": "2026-11-27",
        "attendees": [{"member_id": minsei_id}]}).json
    review = api.post(f"/api/v1/meetings/{meeting['id']}/reviews",
                      json={"watch_id": a["id"], "status": "no_change"})
    assert review.status_code == 201

    own = neighbour.get("/api/v1/watch")
    assert own.status_code == 200 and own.json["items"] == [] and own.json["total"] == 0
    assert_problem(neighbour.get(f"/api/v1/watch?area={DISTRICT}"), 403)
    for path in (f"/api/v1/watch/{a['id']}", f"/api/v1/meetings/{meeting['id']}",
                 f"/api/v1/meetings/{meeting['id']}/sheet.pdf",
                 f"/api/v1/areas/{DISTRICT}/plan"):
        problem = assert_problem(neighbour.get(path), 404)
        assert "山崎" not in str(problem)
    assert_problem(neighbour.post(f"/api/v1/watch/{a['id']}/visits", json={
        "visited_at": "2026-11-20T10:00:00+09:00", "status": "no_change"}), 404)
    for method, path, body in (
            ("post", "/api/v1/meetings/{}/reviews".format(meeting["id"]),
             {"watch_id": a["id"], "status": "moved"}),
            ("post", "/api/v1/meetings", {"kind": "network_watch", "area": DISTRICT,
                                          "held_on": "2026-11-27"}),
            ("post", "/api/v1/watch", {}),
            ("get", "/api/v1/community/tasks", None),
            ("get", f"/api/v1/clients/{a['client_id']}", None),
            ("get", f"/api/v1/consultations?client_id={a['client_id']}", None),
            ("get", "/api/v1/members", None)):
        answer = getattr(neighbour, method)(path, json=body) if body is not None \
            else getattr(neighbour, method)(path)
        assert_problem(answer, 403)
    # The areas a member may list are theirs and those above; never the next district.
    codes = {a["code"] for a in neighbour.get("/api/v1/areas").json["items"]}
    assert codes == {"390003", "390003-chuonishi", "394106", "394106-D00", NEXT_DISTRICT}
    assert session.get(MeetingReview, review.json["id"]).status == "no_change"


def test_every_read_by_a_member_is_audited_like_a_staff_read(api, hidaka, evening, session):
    member = api.as_(hidaka["minsei"][1])
    a = evening["watched"][0]
    before = session.scalar(select(func.max(AuditEntry.id))) or 0
    assert member.get("/api/v1/watch").status_code == 200
    assert member.get(f"/api/v1/watch/{a['id']}").status_code == 200
    session.expire_all()
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.id > before)
                                   .order_by(AuditEntry.id)))
    assert [(e.action, e.resource_type, e.actor_role) for e in entries] == [
        ("list", "watch_entry", "member"), ("read", "watch_entry", "member")]
    assert a["client_id"] in entries[0].detail["clients"]
    assert entries[1].detail["client_id"] == a["client_id"]


def test_a_member_whose_term_has_ended_is_refused(api, hidaka, evening, session):
    _id, token = make_member(session, "前田 元", "minsei", DISTRICT, began_days_ago=1200,
                             ends_in_days=-1)
    refused = api.as_(token).get("/api/v1/watch")
    problem = assert_problem(refused, 403)
    assert "任期" in problem["detail"]
    denied = session.scalar(select(AuditEntry).where(AuditEntry.outcome == "denied")
                            .order_by(AuditEntry.id.desc()).limit(1))
    assert denied.actor_role == "member" and denied.detail["wanted"] == "member term"
    _future_id, future = make_member(session, "次期 委員", "minsei", DISTRICT, began_days_ago=-5)
    assert_problem(api.as_(future).get(f"/api/v1/watch/{evening['watched'][0]['id']}"), 403)


def test_a_member_sees_only_those_their_role_may_see(api, hidaka, evening, session):
    _id, token = make_member(session, "村田 会長", "jichikai", DISTRICT)
    names = [w["name"] for w in api.as_(token).get("/api/v1/watch").json["items"]]
    assert names == ["岡林 トメ"]
    hidden = evening["watched"][0]["id"]
    assert_problem(api.as_(token).get(f"/api/v1/watch/{hidden}"), 404)


def test_watch_entries_refuse_a_missing_basis_or_a_watcher_outside_it(api, hidaka):
    client_id = new_client(api, "検証 花子", "日高村")
    bad = api.post("/api/v1/watch", json={
        "client_id": client_id, "area": DISTRICT, "watch_for": "x",
        "basis": {"kind": "evacuation_register", "scope": ["jichikai"]},
        "watchers": [hidaka["minsei"][0], hidaka["neighbour"][0]]})
    problem = assert_problem(bad, 422)
    assert set(problem["errors"]) == {"basis", "watchers[0]", "watchers[1]"}
    wrong_level = api.post("/api/v1/watch", json={
        "client_id": client_id, "area": "394106", "watch_for": "x",
        "basis": basis("consent", ["minsei"])})
    assert "area" in assert_problem(wrong_level, 422)["errors"]
