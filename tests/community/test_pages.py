"""The 小地域 pages of the console, through the test client: members see their own area's list
and record visits; the coordinator runs a meeting, its reviews and the plan's evaluation."""

import re

import pytest
from sqlalchemy import func, select

from caseapp.models import AuditEntry, CommunityTask, Consultation, WatchVisit
from tests.community.conftest import DISTRICT, NEXT_DISTRICT
from tests.community.pages import COORDINATOR, set_up
from tests.web.console import Console


@pytest.fixture
def district(api, seeded):
    return set_up(api, seeded)


@pytest.fixture
def console(app, district):
    return Console(app.test_client())


def text(response) -> str:
    return response.get_data(as_text=True)


def test_a_member_lands_on_their_own_list_and_records_a_visit(console, district, session):
    minsei = district["people"]["minsei"]
    signed = console.sign_in(minsei["login"])
    assert signed.location == "/community/"
    assert console.get("/").location == "/community/"
    page = console.get("/community/")
    assert page.status_code == 200
    body = text(page)
    for name in ("山崎 ハル", "岡林 トメ", "片岡 ミツ"):
        assert name in body
    assert "日高村本郷1-2" in body and "雨戸が閉まったまま" in body and "未訪問" in body
    assert "consent" not in body and "同意" not in body  # not the basis: the fewest fields
    assert "（地域の委員）" in body
    audited = session.scalar(select(AuditEntry).where(AuditEntry.actor_role == "member",
                                                      AuditEntry.action == "list")
                             .order_by(AuditEntry.id.desc()))
    assert audited.resource_type == "watch_entry" and audited.detail["clients"]

    first = district["watched"][0]["id"]
    path = f"/community/watch/{first}/visit"
    refused = console.post(path, {"visited_at": "2026-11-20T10:00", "status": ""},
                           token_from=path)
    assert refused.status_code == 422 and "様子を選んでください" in text(refused)
    future = console.post(path, {"visited_at": "2099-01-01T10:00", "status": "no_change"},
                          token_from=path)
    assert future.status_code == 422 and "訪問日時が未来になっています" in text(future)
    done = console.post(path, {"visited_at": "2026-11-20T10:00", "status": "unreachable",
                               "note": "雨戸が閉まったまま"}, token_from=path)
    assert done.status_code == 302 and done.location == "/community/"
    visit = session.scalar(select(WatchVisit).where(WatchVisit.watch_id == first))
    assert visit.status == "unreachable" and visit.visited_at.isoformat().startswith(
        "2026-11-20T01:00")  # 10:00 in Tokyo
    assert session.scalar(select(func.count()).select_from(CommunityTask).where(
        CommunityTask.watch_id == first, CommunityTask.kind == "watch_attention")) == 1
    # Staff pages are not a member's.
    for staff_path in ("/community/tasks", f"/community/areas/{DISTRICT}", "/"):
        answer = console.get(staff_path)
        assert answer.status_code == 403 or answer.location == "/community/", staff_path


def test_a_member_of_the_next_district_sees_none_of_it(console, district):
    neighbour = district["people"]["neighbour"]
    console.sign_in(neighbour["login"])
    body = text(console.get("/community/"))
    assert "山崎" not in body and "見守りの対象の方はいません" in body
    first = district["watched"][0]["id"]
    path = f"/community/watch/{first}/visit"
    assert console.get(path).status_code == 404
    token = console.csrf_token("/community/")
    console._fresh_request()
    posted = console.client.post(path, data={"csrf_token": token, "status": "no_change",
                                             "visited_at": "2026-11-20T10:00"})
    assert posted.status_code == 404 and "山崎" not in text(posted)
    assert console.get(f"/community/areas/{DISTRICT}/plan").status_code == 403


def test_a_member_whose_term_ended_is_refused(console, district, session):
    from caseapp.models import Member

    minsei = district["people"]["minsei"]
    console.sign_in(minsei["login"])
    member = session.get(Member, minsei["id"])
    member.term_to = member.term_from
    session.commit()
    refused = console.get("/community/")
    assert refused.status_code == 403 and "山崎" not in text(refused)
    denied = session.scalar(select(AuditEntry).where(AuditEntry.action == "access")
                            .order_by(AuditEntry.id.desc()))
    assert denied.detail["wanted"] == "member_term"


def test_the_coordinator_runs_the_evening(console, district, session):
    minsei, fukushi = district["people"]["minsei"], district["people"]["fukushi"]
    a, b, c = district["watched"]
    console.sign_in(COORDINATOR)
    area = f"/community/areas/{DISTRICT}"
    page = text(console.get(area))
    assert "山崎 ハル" in page and "本人の同意" in page
    bad = console.post(area, {"kind": "network_watch", "held_on": "令和99年13月1日"},
                       token_from=area)
    assert bad.status_code == 422 and 'aria-invalid="true"' in text(bad)
    made = console.post(area, {"kind": "network_watch", "held_on": "令和8年11月27日",
                               "members": [str(minsei["id"]), str(fukushi["id"])],
                               "others": "社協 山本"}, token_from=area)
    assert made.status_code == 302
    meeting = made.location
    assert re.search(r"/community/meetings/\d+$", meeting)
    body = text(console.get(meeting))
    assert "令和8年11月27日" in body and "社協 山本（職員）" in body

    sheet = console.get(f"{meeting}/sheet.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    assert sheet.data.startswith(b"%PDF")

    reviews = f"{meeting}/reviews"
    half = console.post(reviews, {"watch_id": str(b["id"]), "status": "needs_attention",
                                  "topics": ["elder_care"], "summary": ""}, token_from=meeting)
    assert half.status_code == 422 and "困りごとの内容を入力してください" in text(half)
    for entry, status in ((a, "no_change"), (c, "hospitalised")):
        done = console.post(reviews, {"watch_id": str(entry["id"]), "status": status},
                            token_from=meeting)
        assert done.status_code == 302, text(done)
    need = console.post(reviews, {"watch_id": str(b["id"]), "status": "needs_attention",
                                  "note": "物忘れが増えた", "topics": ["elder_care"],
                                  "summary": "介護保険の申請を家族と相談したい"},
                        token_from=meeting)
    assert need.status_code == 302
    body = text(console.get(meeting))
    consultation = session.scalar(select(Consultation))
    assert f"窓口の相談 {consultation.id} として受け付け" in body
    assert "地域包括支援センター" in body
    # The review found 岡林さん needing attention: the coordinator's next action, as a visit.
    task = session.scalar(select(CommunityTask).where(CommunityTask.watch_id == b["id"]))
    assert task.kind == "watch_attention" and task.dedup_key.startswith("watch_attention:r")
    again = console.post(reviews, {"watch_id": str(a["id"]), "status": "no_change"},
                         token_from=meeting)
    assert again.status_code == 409 and "確認済み" in text(again)

    activity = console.post(area, {"kind": "network_activity", "held_on": "2026-11-27",
                                   "members": [str(minsei["id"])]}, token_from=area)
    activity_page = activity.location
    first, second = district["items"]
    rated = console.post(f"{activity_page}/evaluations", {
        f"rating-{first}": "achieved", f"note-{first}": "毎月開催できた",
        f"rating-{second}": "partly"}, token_from=activity_page)
    assert rated.status_code == 302, text(rated)
    plan = text(console.get(f"{area}/plan"))
    assert "令和8年11月27日） 達成：毎月開催できた" in plan and "一部達成" in plan
    exported = console.get(f"{area}/plan.csv")
    assert exported.mimetype == "text/csv" and "ふれあいサロンの開催" in text(exported)


def test_a_counter_worker_sees_the_queue_and_closes_a_task(console, district, session,
                                                             config):
    from datetime import timedelta

    from caseapp.models.types import utcnow
    from caseapp.services.community import queue

    queue.sweep(session, utcnow() + timedelta(days=60), config=config)
    console.sign_in(COORDINATOR)
    body = text(console.get("/community/tasks"))
    assert "訪問の期限切れ" in body and "山崎 ハル" in body
    assert console.get(f"/community/tasks?area={NEXT_DISTRICT}").status_code == 200
    task = session.scalar(select(CommunityTask).where(CommunityTask.status == "open")
                          .order_by(CommunityTask.id))
    closed = console.post(f"/community/tasks/{task.id}/done", {"note": "電話で確認"},
                          token_from="/community/tasks")
    assert closed.status_code == 302
    session.expire_all()
    assert session.get(CommunityTask, task.id).status == "done"
