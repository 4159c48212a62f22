"""One night session (夜間相談会) end to end: the event, walk-in intake, teams and the report."""

import csv
import io
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import func, select, update

from caseapp.models import AuditEntry, Case, Consultation, Delivery, Referral
from caseapp.rules.calendar import TOKYO, add_business_days
from tests.helpers import EXAMPLE, assert_problem

EVENING = datetime(2026, 12, 4, 20, 30, tzinfo=TOKYO)  # a Friday
NEXT_MORNING = datetime(2026, 12, 7, 9, 30, tzinfo=TOKYO)  # Monday: paper sheets typed in
NIGHT = {
    "name": "なんこく生活総合相談会「今夜はあんしんしナイト！」",
    "date": "2026-12-04",
    "starts_at": "2026-12-04T18:00:00+09:00",
    "ends_at": "2026-12-04T21:00:00+09:00",
    "venue": "南国市立中央公民館",
    "partners": ["jiritsu", {"code": "houterasu", "specialists": ["弁護士 1名", "司法書士 1名"]},
                 "shakyo_loan", "minsei", "fukushi_jimusho"],
}


def make_event(api, **changes):
    body = {k: v for k, v in {**NIGHT, **changes}.items() if v is not None}
    response = api.post("/api/v1/events", json=body)
    assert response.status_code == 201, response.json
    return response.json


def intake(api, event_id, **body):
    response = api.post("/api/v1/consultations",
                        json={"channel": "event", "event_id": event_id, **body})
    assert response.status_code == 201, response.json
    return response.json


def team(api, consultation_id, partners, outcome, **extra):
    return api.post(f"/api/v1/consultations/{consultation_id}/team",
                    json={"partners": partners, "outcome": outcome, **extra})


def open_referrals(session, case_id, code):
    session.expire_all()
    return [r for r in session.scalars(select(Referral).where(Referral.case_id == case_id))
            if r.partner.code == code and r.status not in ("completed", "cancelled", "rejected")]


# --- the whole evening -------------------------------------------------------------------------


@pytest.mark.calendar
def test_a_whole_evening_and_its_report(api, session):
    with time_machine.travel(EVENING, tick=False):
        event = make_event(api)
        eid = event["id"]
        assert event["partners"] == ["jiritsu", "houterasu", "shakyo_loan", "minsei",
                                     "fukushi_jimusho"]
        houterasu = next(p for p in event["partner_details"] if p["code"] == "houterasu")
        assert houterasu["specialists"] == ["弁護士 1名", "司法書士 1名"]
        assert houterasu["name"].startswith("法テラス")

        # A: named, with written consent; debts and living costs.
        a = intake(api, eid, received_at="2026-12-04T18:40:00+09:00",
                   client={"name": "高知 花子", "name_kana": "コウチ ハナコ",
                           "birth_date": "1985-06-01"},
                   topics=["debt", "income_living"], summary="カードローンの返済が滞っている",
                   facts={"age": 41, "household_size": 3, "monthly_income": 200000,
                          "debts": [{"creditor": "B社", "principal": 600000,
                                     "in_arrears": True}]},
                   consent={"scope": "network", "method": "written",
                            "given_at": "2026-12-04T18:35:00+09:00"})
        # B: anonymous, child-raising.
        b = intake(api, eid, received_at="2026-12-04T18:55:00+09:00",
                   topics=["childcare", "family_relations"], summary="子育てと仕事の両立がつらい")
        # C: named, no consent yet; rent arrears after losing work.
        c = intake(api, eid, received_at="2026-12-04T19:10:00+09:00",
                   client={"name": "南国 一郎", "name_kana": "ナンコク イチロウ"},
                   topics=["rent_loan_arrears"],
                   facts={"age": 38, "employed": False, "lost_work_within_2y": True,
                          "housing": "at_risk"})
        # D: anonymous, living costs; the team wants to hear again next week.
        d = intake(api, eid, received_at="2026-12-04T19:30:00+09:00", topics=["income_living"])

        # Noise that must not be counted: a window consultation and another event's.
        api.post("/api/v1/consultations", json={"channel": "window", "topics": ["debt"]})
        other = make_event(api, name="別の相談会", date="2026-12-11",
                           starts_at="2026-12-11T18:00:00+09:00",
                           ends_at="2026-12-11T21:00:00+09:00")
        intake(api, other["id"], topics=["debt"])

        # On-the-spot teams.
        ra = team(api, a["id"], ["houterasu", "shakyo_loan"], "referred",
                  note="弁護士との面談予約、緊急小口資金の申請")
        assert ra.status_code == 201, ra.json
        assert ra.json["partners"] == ["houterasu", "shakyo_loan"]
        assert ra.json["event_id"] == eid
        rb = team(api, b["id"], ["jiritsu", "minsei"], "resolved_on_site", note="傾聴と情報提供")
        assert rb.status_code == 201 and rb.json["new_referral_ids"] == []
        rc = team(api, c["id"], ["jiritsu", "shakyo_loan"], "referred")
        assert rc.status_code == 201, rc.json
        rd = team(api, d["id"], ["jiritsu"], "follow_up", note="来週電話で状況確認")
        assert rd.status_code == 201, rd.json

    # E: a paper sheet from the evening, typed in on Monday morning; no team recorded.
    with time_machine.travel(NEXT_MORNING, tick=False):
        e = intake(api, eid, received_at="2026-12-04T20:40:00+09:00",
                   client={"name": "物部 三郎"}, topics=["debt"])
        assert datetime.fromisoformat(e["received_at"]) == datetime(2026, 12, 4, 20, 40,
                                                                    tzinfo=TOKYO)

    # Referred with consent: every team partner has exactly one open referral, ready to send.
    session.expire_all()
    for code in ("houterasu", "shakyo_loan"):
        assert len(open_referrals(session, a["case_id"], code)) == 1, code
    made_a = [session.get(Referral, i) for i in ra.json["new_referral_ids"]]
    for referral in made_a:
        assert referral.rule_id == f"event:{eid}:team"
        assert NIGHT["name"] in referral.reason and "緊急小口資金" in referral.reason
        assert referral.method == "intro_letter"
        assert referral.status == "requested" and referral.legal_basis.startswith("consent:")
        assert session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.referral_id == referral.id)) >= 1

    # Referred without consent: the new referral waits, and the case is due within a day.
    made_c = [session.get(Referral, i) for i in rc.json["new_referral_ids"]]
    assert "shakyo_loan" in {r.partner.code for r in made_c}
    assert all(r.status == "awaiting_consent" and r.legal_basis is None for r in made_c)
    case_c = session.get(Case, c["case_id"])
    assert case_c.next_action_at <= add_business_days(EVENING, 1)

    # Follow-up: the case is due in two business days (Friday night → Tuesday night) ...
    case_d = session.get(Case, d["case_id"])
    assert case_d.next_action_at == add_business_days(EVENING, 2)
    assert case_d.next_action_at.astimezone(TOKYO).date().isoformat() == "2026-12-08"
    assert "来週電話で状況確認" in case_d.next_action and NIGHT["name"] in case_d.next_action
    # ... and surfaces as lost if nobody does it.
    with time_machine.travel(datetime(2026, 12, 9, 9, 0, tzinfo=TOKYO), tick=False):
        lost = api.get("/api/v1/cases", query_string={"lost": "true", "per_page": 200}).json
    assert d["case_id"] in {x["id"] for x in lost["items"]}

    # The evening's queue, in arrival order.
    queue = api.get(f"/api/v1/events/{eid}/consultations")
    assert queue.status_code == 200, queue.json
    items = queue.json["items"]
    assert queue.json["total"] == 5
    assert [x["id"] for x in items] == [a["id"], b["id"], c["id"], d["id"], e["id"]]
    assert [x["anonymous"] for x in items] == [False, True, False, True, False]
    assert [x["client_name"] for x in items] == ["高知 花子", None, "南国 一郎", None, "物部 三郎"]
    assert [(x["team"] or {}).get("outcome") for x in items] == [
        "referred", "resolved_on_site", "referred", "follow_up", None]
    assert items[1]["team"]["partners"] == ["jiritsu", "minsei"]
    assert items[0]["topics"] == ["debt", "income_living"]
    assert {r["partner"] for r in items[0]["referrals"]} >= {"houterasu", "shakyo_loan"}
    assert all(r["status"] for x in items for r in x["referrals"])
    second = api.get(f"/api/v1/events/{eid}/consultations",
                     query_string={"per_page": 2, "page": 2}).json
    assert [x["id"] for x in second["items"]] == [c["id"], d["id"]] and second["total"] == 5
    assert api.get(f"/api/v1/events/{eid}").json["consultation_count"] == 5
    listed = api.get("/api/v1/events").json["items"]
    assert {x["id"]: x["consultation_count"] for x in listed} == {eid: 5, other["id"]: 1}

    # Some of it settles: B's referrals are completed, E's case is closed.
    session.execute(update(Referral).where(Referral.consultation_id == b["id"])
                    .values(status="completed"))
    session.commit()
    closed = api.patch(f"/api/v1/cases/{e['case_id']}", json={"status": "closed"})
    assert closed.status_code == 200, closed.json

    report = api.get(f"/api/v1/events/{eid}/report")
    assert report.status_code == 200, report.json
    r = report.json
    assert r["event"]["name"] == NIGHT["name"]
    assert r["consultations"] == {"total": 5, "named": 3, "anonymous": 2, "team_recorded": 4,
                                  "still_open": 3, "cases_closed": 1}
    assert {t["topic"]: t["count"] for t in r["by_topic"]} == {
        "debt": 2, "income_living": 2, "childcare": 1, "family_relations": 1,
        "rent_loan_arrears": 1}
    assert next(t for t in r["by_topic"] if t["topic"] == "childcare")["label"] == "子育てのこと"
    assert r["by_outcome"] == {"resolved_on_site": 1, "referred": 2, "follow_up": 1,
                               "not_recorded": 1}
    teams = {p["partner"]: p["team_consultations"] for p in r["by_partner"]}
    assert {k: v for k, v in teams.items() if v} == {"jiritsu": 3, "houterasu": 1,
                                                     "shakyo_loan": 2, "minsei": 1}
    assert teams["fukushi_jimusho"] == 0
    assert [p["partner"] for p in r["by_partner"]][:5] == event["partners"]

    session.expire_all()
    rows = list(session.scalars(select(Referral).join(Consultation)
                                .where(Consultation.event_id == eid)))
    team_made = set(ra.json["new_referral_ids"]) | set(rc.json["new_referral_ids"])
    unsettled = [x for x in rows if x.status not in ("completed", "cancelled", "rejected")]
    assert r["referrals"]["total"] == len(rows)
    assert r["referrals"]["from_team"] == len(team_made) >= 2
    assert r["referrals"]["from_routing"] == len(rows) - len(team_made)
    assert r["referrals"]["open"] == len(unsettled)
    assert r["referrals"]["consultations_with_referrals"] == 5
    assert r["referrals"]["by_status"]["completed"] == sum(x.status == "completed" for x in rows)
    for entry in r["by_partner"]:
        assert entry["referrals"] == sum(x.partner.code == entry["partner"] for x in rows)

    # The same report as CSV for Excel: UTF-8 with BOM, Japanese headers, same numbers.
    as_csv = api.get(f"/api/v1/events/{eid}/report", query_string={"format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.mimetype == "text/csv" and "utf-8" in as_csv.content_type.lower()
    assert "attachment" in as_csv.headers["Content-Disposition"]
    raw = as_csv.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == ["区分", "コード", "項目", "件数", "うち未完了"]
    cells = {(row[0], row[1]): row[3:] for row in table[1:]}
    assert cells[("相談件数", "total")] == ["5", ""]
    assert cells[("相談件数", "anonymous")] == ["2", ""]
    assert cells[("相談件数", "still_open")] == ["3", ""]
    assert cells[("相談内容", "debt")] == ["2", ""]
    assert cells[("対応結果", "not_recorded")] == ["1", ""]
    assert cells[("チーム対応した連携機関", "jiritsu")] == ["3", ""]
    assert cells[("つなぎ", "total")] == [str(len(rows)), str(len(unsettled))]


# --- events ------------------------------------------------------------------------------------


def test_event_date_can_come_from_the_start_and_lists_are_paginated(api):
    first = make_event(api, date=None)
    assert first["date"] == "2026-12-04"
    make_event(api, name="夏の相談会", date="2026-07-10", starts_at="2026-07-10T18:00:00+09:00",
               ends_at="2026-07-10T21:00:00+09:00")
    make_event(api, name="秋の相談会", date="令和8年10月2日",
               starts_at="2026-10-02T18:00:00+09:00", ends_at="2026-10-02T21:00:00+09:00")
    page = api.get("/api/v1/events", query_string={"per_page": 2}).json
    assert page["total"] == 3 and page["per_page"] == 2
    assert [x["date"] for x in page["items"]] == ["2026-12-04", "2026-10-02"]
    second = api.get("/api/v1/events", query_string={"per_page": 2, "page": 2}).json
    assert [x["date"] for x in second["items"]] == ["2026-07-10"]
    autumn = api.get("/api/v1/events", query_string={"from": "2026-08-01",
                                                     "to": "2026-11-30"}).json
    assert [x["name"] for x in autumn["items"]] == ["秋の相談会"]
    one = api.get(f"/api/v1/events/{first['id']}").json
    assert one["consultation_count"] == 0 and one["venue"] == NIGHT["venue"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"ends_at": "2026-12-04T17:00:00+09:00"}, "ends_at"),
    ({"ends_at": "2026-12-06T21:00:00+09:00"}, "ends_at"),
    ({"starts_at": "2026-12-04T18:00:00"}, "starts_at"),
    ({"starts_at": "2026-12-05T18:00:00+09:00", "ends_at": "2026-12-05T21:00:00+09:00"},
     "starts_at"),
    ({"partners": ["jiritsu", "no_such_partner"]}, "partners[1]"),
    ({"partners": [{"specialists": ["弁護士"]}]}, "partners.0.code"),
    ({"partners": [42]}, "partners.0"),
    ({"name": ""}, "name"),
    ({"date": None, "starts_at": None}, "date"),
    ({"date": "平成31年5月1日"}, "date"),
])
def test_bad_events_are_422_naming_the_field_and_nothing_is_stored(api, changes, field):
    body = {**NIGHT, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    problem = assert_problem(api.post("/api/v1/events", json=body), 422)
    assert field in problem["errors"], problem["errors"]
    assert api.get("/api/v1/events").json["total"] == 0


def test_unknown_partner_code_is_named(api):
    problem = assert_problem(api.post("/api/v1/events", json={
        **NIGHT, "partners": ["jiritsu", "no_such_partner"]}), 422)
    assert "no_such_partner" in problem["errors"]["partners[1]"][0]


def test_a_partner_who_turns_up_can_be_added_but_a_team_member_not_removed(api):
    event = make_event(api, partners=["jiritsu"])
    c = intake(api, event["id"], topics=["debt"])
    assert_problem(team(api, c["id"], ["jiritsu", "houterasu"], "resolved_on_site"), 422)
    patched = api.patch(f"/api/v1/events/{event['id']}",
                        json={"partners": ["jiritsu", {"code": "houterasu",
                                                       "specialists": ["弁護士 1名"]}]})
    assert patched.status_code == 200, patched.json
    assert patched.json["partners"] == ["jiritsu", "houterasu"]
    assert team(api, c["id"], ["jiritsu", "houterasu"], "resolved_on_site").status_code == 201
    removed = api.patch(f"/api/v1/events/{event['id']}", json={"partners": ["jiritsu"]})
    assert "houterasu" in " ".join(assert_problem(removed, 422)["errors"]["partners"])
    bad_end = api.patch(f"/api/v1/events/{event['id']}",
                        json={"ends_at": "2026-12-04T17:59:00+09:00"})
    assert "ends_at" in assert_problem(bad_end, 422)["errors"]
    assert api.get(f"/api/v1/events/{event['id']}").json["partners"] == ["jiritsu", "houterasu"]


def test_unknown_event_is_404_and_intake_refuses_it(api):
    assert_problem(api.get("/api/v1/events/999"), 404)
    assert_problem(api.get("/api/v1/events/999/report"), 404)
    assert_problem(api.get("/api/v1/events/999/consultations"), 404)
    problem = assert_problem(api.post("/api/v1/consultations",
                                      json={"channel": "event", "event_id": 999}), 422)
    assert "event_id" in problem["errors"]


# --- teams -------------------------------------------------------------------------------------


def test_a_partner_not_present_is_422_naming_the_code_and_nothing_changes(api, session):
    event = make_event(api, partners=["jiritsu", "houterasu"])
    c = intake(api, event["id"], client={"name": "香美 太郎"}, topics=["debt"])
    before = session.scalar(select(func.count()).select_from(Referral))
    problem = assert_problem(team(api, c["id"], ["jiritsu", "bengoshi", "nobody"], "referred"),
                             422)
    assert "bengoshi" in problem["errors"]["partners[1]"][0]
    assert "nobody" in problem["errors"]["partners[2]"][0]
    assert "bengoshi" in problem["detail"] and "nobody" in problem["detail"]
    assert session.scalar(select(func.count()).select_from(Referral)) == before
    assert api.get(f"/api/v1/consultations/{c['id']}").json["team"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"partners": [], "outcome": "referred"}, "partners"),
    ({"outcome": "referred"}, "partners"),
    ({"partners": ["jiritsu"], "outcome": "solved"}, "outcome"),
    ({"partners": ["jiritsu"]}, "outcome"),
    ({"partners": ["jiritsu"], "outcome": "resolved_on_site", "method": "accompany"}, "method"),
    ({"partners": ["jiritsu"], "outcome": "referred", "method": "carrier_pigeon"}, "method"),
    ({"partners": ["jiritsu"], "outcome": "referred",
      "follow_up_at": "2030-01-01T10:00:00+09:00"}, "follow_up_at"),
    ({"partners": ["jiritsu"], "outcome": "follow_up",
      "follow_up_at": "2020-01-01T10:00:00+09:00"}, "follow_up_at"),
    ({"partners": ["jiritsu"], "outcome": "follow_up", "follow_up_at": "2030-01-01T10:00"},
     "follow_up_at"),
])
def test_bad_team_bodies_are_422(api, body, field):
    event = make_event(api)
    c = intake(api, event["id"])
    problem = assert_problem(api.post(f"/api/v1/consultations/{c['id']}/team", json=body), 422)
    assert field in problem["errors"], problem["errors"]


def test_team_needs_an_event_consultation(api):
    window = api.post("/api/v1/consultations", json={"channel": "window"}).json
    assert_problem(team(api, window["id"], ["jiritsu"], "resolved_on_site"), 409)
    assert_problem(team(api, 999, ["jiritsu"], "resolved_on_site"), 404)
    assert_problem(api.get(f"/api/v1/consultations/{window['id']}/team"), 404)


def test_reposting_replaces_the_team_audited_and_never_duplicates_referrals(api, session):
    event = make_event(api)
    c = intake(api, event["id"], client={"name": "土佐 次郎"}, topics=["debt"],
               consent={"scope": "network", "method": "oral",
                        "given_at": "2026-11-27T18:00:00+09:00"})
    first = team(api, c["id"], ["houterasu", "shakyo_loan"], "referred")
    assert first.status_code == 201, first.json
    again = team(api, c["id"], ["shakyo_loan", "houterasu"], "referred", note="確認済み")
    assert again.status_code == 200, again.json
    assert again.json["new_referral_ids"] == []  # both partners already have open referrals
    for code in ("houterasu", "shakyo_loan"):
        assert len(open_referrals(session, c["case_id"], code)) == 1
    last = team(api, c["id"], ["jiritsu"], "resolved_on_site", method=None)
    assert last.status_code == 422  # method null is not "absent": refused, nothing changed
    last = team(api, c["id"], ["jiritsu"], "resolved_on_site")
    assert last.status_code == 200
    fetched = api.get(f"/api/v1/consultations/{c['id']}/team").json
    assert fetched["partners"] == ["jiritsu"] and fetched["outcome"] == "resolved_on_site"
    assert api.get(f"/api/v1/consultations/{c['id']}").json["team"]["outcome"] == (
        "resolved_on_site")
    # The referrals the earlier record made are kept: nothing from the evening is lost.
    assert len(open_referrals(session, c["case_id"], "shakyo_loan")) == 1
    audits = list(session.scalars(select(AuditEntry).where(
        AuditEntry.resource_type == "consultation_team").order_by(AuditEntry.id)))
    writes = [a for a in audits if a.action in ("create", "update")]
    assert [a.action for a in writes] == ["create", "update", "update"]
    assert writes[-1].detail["previous"]["outcome"] == "referred"
    assert writes[-1].detail["previous"]["partners"] == ["shakyo_loan", "houterasu"]
    assert writes[0].detail["referrals"] == first.json["new_referral_ids"]


def test_anonymous_referred_goes_out_on_the_anonymous_basis(api, session):
    event = make_event(api)
    c = intake(api, event["id"], topics=["debt"], summary="名前は言いたくない")
    made = team(api, c["id"], ["houterasu", "shakyo_loan"], "referred", method="info_only")
    assert made.status_code == 201, made.json
    session.expire_all()
    for rid in made.json["new_referral_ids"]:
        referral = session.get(Referral, rid)
        assert referral.status == "requested" and referral.legal_basis == "anonymous"
        assert referral.method == "info_only"
    assert {r["partner"] for r in made.json["referrals"]} >= {"houterasu", "shakyo_loan"}


@pytest.mark.calendar
@time_machine.travel(NEXT_MORNING, tick=False)
def test_follow_up_keeps_an_earlier_next_action(api, session):
    event = make_event(api)
    # No consent: intake already asks for consent within one business day.
    c = intake(api, event["id"], client={"name": "香南 四郎"}, topics=["debt"])
    case = session.get(Case, c["case_id"])
    earlier = case.next_action_at
    later = add_business_days(earlier, 10).isoformat()
    done = team(api, c["id"], ["jiritsu"], "follow_up", note="年明けに面談", follow_up_at=later)
    assert done.status_code == 201, done.json
    assert datetime.fromisoformat(done.json["case"]["next_action_at"]) == earlier
    assert "年明けに面談" in done.json["case"]["next_action"]
    assert "同意" in done.json["case"]["next_action"]


def test_follow_up_reopens_a_closed_case(api, session):
    event = make_event(api)
    c = intake(api, event["id"], client={"name": "安芸 五郎"})
    assert api.patch(f"/api/v1/cases/{c['case_id']}", json={"status": "closed"}).status_code == 200
    done = team(api, c["id"], ["jiritsu"], "follow_up")
    assert done.status_code == 201
    assert done.json["case"]["status"] == "open" and done.json["case"]["next_action_at"]


# --- who may --------------------------------------------------------------------------------


def test_can_a_partner_or_a_stranger_see_the_evening(api, anon, tokens):
    event = make_event(api)
    c = intake(api, event["id"], client={"name": "秘密 花子"})
    partner = api.as_(tokens["partner:houterasu"])
    for path in (f"/api/v1/events/{event['id']}", f"/api/v1/events/{event['id']}/consultations",
                 f"/api/v1/events/{event['id']}/report", "/api/v1/events"):
        assert_problem(partner.get(path), 403)
        assert_problem(anon.get(path), 401)
    assert_problem(partner.post("/api/v1/events", json=NIGHT), 403)
    assert_problem(team(partner, c["id"], ["jiritsu"], "resolved_on_site"), 403)
    assert api.as_(tokens["supervisor"]).get(f"/api/v1/events/{event['id']}/report").status_code \
        == 200


def test_the_queue_is_an_audited_read(api, session):
    event = make_event(api)
    c = intake(api, event["id"], client={"name": "室戸 六郎"})
    api.get(f"/api/v1/events/{event['id']}/consultations")
    row = session.scalar(select(AuditEntry).where(AuditEntry.action == "list",
                                                  AuditEntry.resource_type == "consultation"))
    assert row.detail == {"event_id": event["id"], "results": [c["id"]]}


def test_the_example_intake_can_belong_to_an_event(api):
    event = make_event(api)
    body = {**EXAMPLE, "channel": "event", "event_id": event["id"]}
    created = api.post("/api/v1/consultations", json=body)
    assert created.status_code == 201 and created.json["event_id"] == event["id"]
    assert created.json["team"] is None


@pytest.mark.real_commits  # two request threads, two connections
def test_two_staff_saving_the_same_team_at_once_leave_one_record(app, api, session, tokens):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from caseapp.models import ConsultationTeam
    from tests.conftest import Api

    event = make_event(api)
    c = intake(api, event["id"], client={"name": "須崎 七郎"}, topics=["debt"])
    # Requests in this thread share the test's session; end its transaction (SQLite write lock).
    session.commit()
    barrier = Barrier(2)

    def save(partners):
        client = Api(app.test_client(), tokens["counter"])
        barrier.wait()
        return team(client, c["id"], partners, "referred").status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(save, (["houterasu", "shakyo_loan"], ["shakyo_loan"])))
    # The database serialises the two: one creates, the other replaces (or is told to retry).
    assert codes in ([200, 201], [201, 409]), codes
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ConsultationTeam)) == 1
    assert len(open_referrals(session, c["case_id"], "shakyo_loan")) == 1
