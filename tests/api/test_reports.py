"""The monthly report over a small data set whose every figure was worked out by hand."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from caseapp.models import (
    Case,
    Client,
    Consultation,
    ConsultationTopic,
    Event,
    Partner,
    Referral,
    ReferralEvent,
    RoutingDecision,
    User,
)
from tests.helpers import assert_problem

JST = ZoneInfo("Asia/Tokyo")


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


@pytest.fixture
def dataset(seeded, tokens):
    s = seeded
    staff = s.scalar(select(User).where(User.name == "counter-1"))
    partner = {p.code: p for p in s.scalars(select(Partner))}
    event = Event(name="今夜はあんしんしナイト！", date=jst(2026, 11, 20).date(),
                  partners=["jiritsu"])
    a = Client(name="山田 太郎", search_key="山田太郎", district="岡豊",
               created_at=jst(2026, 10, 5, 9))
    b = Client(name="佐藤 花子", search_key="佐藤花子", district="十市",
               created_at=jst(2026, 11, 10, 9))
    s.add_all([event, a, b])

    def case(client, created, owner=staff, next_action_at=None):
        row = Case(client=client, owner=owner, status="open", created_at=created,
                   next_action_at=next_action_at or jst(2027, 1, 10))
        s.add(row)
        return row

    def consult(case_, client, at, channel, topics, decisions, event_=None):
        fallback_only = all(rule == "fallback" for _code, rule, action in decisions
                            if action == "refer")
        row = Consultation(case=case_, client=client, received_at=at, channel=channel,
                           event=event_, fallback_only=fallback_only,
                           topic_rows=[ConsultationTopic(topic=t, position=i)
                                       for i, t in enumerate(topics)])
        for code, rule_id, action in decisions:
            row.decisions.append(RoutingDecision(partner_code=code, rule_id=rule_id,
                                                 reason="r", action=action, method="info_only"))
        s.add(row)
        return row

    c1 = case(a, jst(2026, 10, 5, 10))
    c2 = case(b, jst(2026, 11, 10, 10), owner=None)
    c3 = case(None, jst(2026, 11, 20, 19), next_action_at=jst(2026, 11, 21))
    c4 = case(None, jst(2026, 11, 30, 23, 59))
    c5 = case(None, jst(2026, 12, 1, 0, 30))
    c6 = case(None, jst(2026, 9, 30, 23, 30))
    consult(c1, a, jst(2026, 10, 5, 10), "window", ["debt", "income_living"],
            [("houterasu", "legal_aid", "refer"), ("shihoshoshi", "scrivener", "refer")])
    consult(c1, a, jst(2026, 11, 2, 10), "phone", ["debt"], [("bengoshi", "attorney", "refer")])
    consult(c2, b, jst(2026, 11, 10, 10), "window", ["elder_care"],
            [("houkatsu", "elderly", "refer")])
    consult(c3, None, jst(2026, 11, 20, 19), "event", ["income_living"],
            [("jiritsu", "fallback", "refer")], event_=event)
    consult(c4, None, jst(2026, 11, 30, 23, 59), "phone", ["other"],
            [("jiritsu", "fallback", "refer"), ("keicho", "listen", "suggest")])
    consult(c5, None, jst(2026, 12, 1, 0, 30), "window", ["other"], [])
    consult(c6, None, jst(2026, 9, 30, 23, 30), "window", ["other"], [])

    def referral(case_, code, steps, status, outcome=None, note=None):
        row = Referral(case=case_, partner=partner[code], reason="r", method="info_only",
                       status=status, outcome=outcome, created_at=steps[0][1])
        previous = None
        for to_status, at in steps:
            row.history.append(ReferralEvent(from_status=previous, to_status=to_status, at=at,
                                             note=note if to_status == "rejected" else None))
            if to_status != "awaiting_consent":
                setattr(row, f"{to_status}_at", at)
            previous = to_status
        row.status_at = steps[-1][1]
        s.add(row)

    day = timedelta(days=1)
    r1 = jst(2026, 11, 10, 10)
    referral(c2, "houkatsu", [("requested", r1), ("sent", r1 + 2 * day),
                              ("received", r1 + 3 * day), ("accepted", r1 + 6 * day),
                              ("completed", r1 + 16 * day)], "completed", outcome="got_help")
    r2 = jst(2026, 10, 5, 10)
    referral(c1, "houterasu", [("requested", r2), ("sent", r2 + day), ("received", r2 + 3 * day),
                               ("rejected", r2 + 4 * day)], "rejected", note="資力基準を超える")
    r3 = jst(2026, 11, 20, 19)
    referral(c3, "jiritsu", [("requested", r3), ("sent", r3 + 4 * day),
                             ("received", r3 + 5 * day)], "received")
    referral(c1, "shihoshoshi", [("awaiting_consent", jst(2026, 11, 2, 10))], "awaiting_consent")
    r5 = jst(2026, 11, 2, 10)
    referral(c1, "bengoshi", [("requested", r5), ("sent", r5 + 3 * day)], "sent")
    referral(c6, "jiritsu", [("requested", jst(2026, 9, 15)), ("sent", jst(2026, 9, 15))], "sent")
    s.commit()
    return event


def report(api, tokens, **query):
    return api.as_(tokens["supervisor"]).get("/api/v1/reports/monthly",
                                             query_string={"from": "2026-10", "to": "2026-11",
                                                           **query})


def test_monthly_figures_match_the_hand_count(api, tokens, dataset):
    response = report(api, tokens)
    assert response.status_code == 200, response.json
    data = response.json
    assert data["by_month"] == [
        {"month": "2026-10", "consultations": 1, "anonymous": 0, "new_cases": 1,
         "new_clients": 1, "returning_clients": 0, "new_cases_per_100k": 2.2},
        {"month": "2026-11", "consultations": 4, "anonymous": 2, "new_cases": 3,
         "new_clients": 1, "returning_clients": 1, "new_cases_per_100k": 6.5},
    ]
    assert [(t["topic"], t["count"]) for t in data["by_topic"]] == [
        ("debt", 2), ("income_living", 2), ("elder_care", 1), ("other", 1)]
    assert data["by_topic"][0]["label"] == "債務について"
    assert [(c["channel"], c["count"]) for c in data["by_channel"]] == [
        ("phone", 2), ("window", 2), ("event", 1)]
    assert sorted((d["district"], d["count"]) for d in data["by_district"]) == sorted(
        [("岡豊", 2), ("十市", 1), ("（不明・匿名）", 2)])
    assert [(e["name"], e["count"]) for e in data["by_event"]] == [("今夜はあんしんしナイト！", 1)]
    by_partner = {p["partner"]: p["by_status"] for p in data["referrals_by_partner"]}
    assert by_partner == {"houkatsu": {"completed": 1}, "houterasu": {"rejected": 1},
                          "jiritsu": {"received": 1}, "shihoshoshi": {"awaiting_consent": 1},
                          "bengoshi": {"sent": 1}}
    assert data["funnel"]["counts"] == {"requested": 4, "sent": 4, "received": 3,
                                        "accepted": 1, "completed": 1}
    assert data["funnel"]["median_days"] == {"requested_to_sent": 2.5, "sent_to_received": 1.0,
                                             "received_to_accepted": 3.0,
                                             "accepted_to_completed": 10.0}
    assert data["rejections"] == [{"reason": "資力基準を超える", "count": 1}]
    assert data["outcomes"] == [{"outcome": "got_help", "count": 1}]
    assert data["fallback_only"] == {"consultations": 2, "share": 0.4}
    assert data["lost"] == {"cases": 2, "without_owner": 1, "overdue": 1}


def test_csv_opens_in_excel_with_japanese_labels(api, tokens, dataset):
    response = report(api, tokens, format="csv", table="by_topic")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["相談内容コード", "相談内容", "件数"]
    assert rows[1:] == [["debt", "債務について", "2"], ["income_living", "収入・生活費のこと", "2"],
                        ["elder_care", "介護のこと", "1"], ["other", "その他", "1"]]
    month_rows = list(csv.reader(io.StringIO(
        report(api, tokens, format="csv").get_data().decode("utf-8-sig"))))
    assert month_rows[0][0] == "月" and month_rows[2][:2] == ["2026-11", "4"]


def test_counter_staff_cannot_read_reports(api, dataset):
    assert_problem(api.get("/api/v1/reports/monthly"), 403)


@pytest.mark.parametrize("query", [{"from": "2026-13"}, {"from": "2026-11", "to": "2026-10"},
                                   {"format": "xls"}, {"table": "secrets"},
                                   {"from": "0000-01"}, {"to": "9999-12"}])
def test_bad_report_queries_are_422(api, tokens, query, seeded):
    assert_problem(api.as_(tokens["supervisor"]).get("/api/v1/reports/monthly",
                                                      query_string=query), 422)
