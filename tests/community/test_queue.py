"""The coordinator's queue on the counter's calendar, with a stopped clock the test moves.

A watched person not visited within the area's interval, a visit that found something wrong and
an area whose meeting is overdue each become one next action, once, however often beat sweeps.
"""

from datetime import datetime

import pytest
import time_machine
from sqlalchemy import func, select

from caseapp.models import CommunityTask, StaffAlert
from caseapp.rules.calendar import TOKYO
from caseapp.services.community import queue
from caseapp.tasks.community import sweep_community
from tests.community.conftest import DISTRICT, make_member, new_client

pytestmark = pytest.mark.calendar


def tokyo(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


@pytest.fixture
def clock():
    traveller = time_machine.travel(tokyo(2026, 11, 2), tick=False)  # a Monday
    shifted = traveller.start()
    yield shifted
    traveller.stop()


@pytest.fixture
def watched(clock, api, seeded, hidaka_staff):
    client_id = new_client(api, "山崎 ハル", "日高村本郷1-2")
    made = api.post("/api/v1/watch", json={
        "client_id": client_id, "area": DISTRICT, "watch_for": "一人暮らし",
        "basis": {"kind": "consent", "scope": ["minsei"], "method": "oral",
                  "given_at": "2026-11-01T10:00:00+09:00"}})
    assert made.status_code == 201, made.json
    return made.json


def tasks(session, kind):
    session.expire_all()
    return list(session.scalars(select(CommunityTask).where(CommunityTask.kind == kind)))


def test_an_unvisited_person_appears_in_the_queue_once(clock, api, watched, session):
    # 30 days after the watch began, on a business morning: Wednesday 2 December, 10:00.
    assert watched["visit_due_at"] == "2026-12-02T10:00:00+09:00"
    clock.move_to(tokyo(2026, 12, 2, 9, 59))
    queue.sweep(session)
    assert tasks(session, "watch_unvisited") == []
    clock.move_to(tokyo(2026, 12, 2, 10, 1))
    alerts_before = session.scalar(select(func.count()).select_from(StaffAlert))
    assert sweep_community() == {"watch_unvisited": 1}  # as beat's sweep runs it
    assert queue.sweep(session) == {}  # a second beat, or a rerun, opens nothing twice
    (task,) = tasks(session, "watch_unvisited")
    assert task.status == "open" and task.watch_id == watched["id"]
    assert session.scalar(select(func.count()).select_from(StaffAlert)) == alerts_before + 1
    alert = session.scalar(select(StaffAlert).order_by(StaffAlert.id.desc()).limit(1))
    assert alert.role == "supervisor" and "山崎" not in alert.message
    listed = api.get("/api/v1/community/tasks?area=394106").json
    assert [t["id"] for t in listed["items"]] == [task.id]
    assert listed["items"][0]["due_at"] == "2026-12-02T10:00:00+09:00"

    # The visit answers it; the next one is owed 30 days on.
    clock.move_to(tokyo(2026, 12, 2, 15))
    visit = api.post(f"/api/v1/watch/{watched['id']}/visits", json={
        "visited_at": "2026-12-02T14:00:00+09:00", "status": "no_change"})
    assert visit.status_code == 201, visit.json
    (task,) = tasks(session, "watch_unvisited")
    assert task.status == "done"
    assert api.get("/api/v1/community/tasks").json["total"] == 0
    entry = api.get(f"/api/v1/watch/{watched['id']}").json
    assert entry["visit_due_at"] == "2027-01-04T09:00:00+09:00"  # 1 January: 年末年始


def test_a_visit_that_finds_something_wrong_is_in_the_queue_the_next_business_morning(
        clock, api, watched, session):
    clock.move_to(tokyo(2026, 12, 5, 20))  # Saturday night
    visit = api.post(f"/api/v1/watch/{watched['id']}/visits", json={
        "visited_at": "2026-12-05T19:30:00+09:00", "status": "unreachable",
        "note": "呼んでも出てこない"})
    assert visit.status_code == 201
    (task,) = tasks(session, "watch_attention")
    assert task.status == "scheduled"
    assert task.due_at == tokyo(2026, 12, 7, 9)
    queue.sweep(session)
    assert tasks(session, "watch_attention")[0].status == "scheduled"
    clock.move_to(tokyo(2026, 12, 7, 9, 0))
    assert queue.sweep(session) == {"opened": 1}
    assert queue.sweep(session) == {}
    listed = api.get("/api/v1/community/tasks?kind=watch_attention").json["items"]
    assert [(t["watch_id"], t["visit_id"]) for t in listed] == [(watched["id"],
                                                                 visit.json["id"])]
    done = api.post(f"/api/v1/community/tasks/{listed[0]['id']}/done",
                    json={"note": "家族に連絡、入院していた"})
    assert done.status_code == 200 and done.json["status"] == "done"
    assert api.post(f"/api/v1/community/tasks/{listed[0]['id']}/done", json={}).status_code \
        == 409


def test_each_district_owes_a_meeting_every_half_year(clock, api, seeded, session,
                                                       hidaka_staff):
    # Seeded on 2 November 2026; half a year on is 3 May 2027 (憲法記念日), and the first
    # business morning after it is Thursday 6 May, 9:00.
    clock.move_to(tokyo(2027, 5, 6, 8, 59))
    assert queue.sweep(session) == {}
    clock.move_to(tokyo(2027, 5, 6, 9, 0))
    minsei_id, _token = make_member(session, "高橋 民子", "minsei", DISTRICT)
    held = api.post("/api/v1/meetings", json={
        "kind": "network_watch", "area": DISTRICT, "held_on": "令和9年5月6日",
        "attendees": [{"member_id": minsei_id}]})
    assert held.status_code == 201, held.json
    assert queue.sweep(session) == {"meeting_overdue": 21}  # the district that met is not late
    assert queue.sweep(session) == {}
    area = next(a for a in api.get("/api/v1/areas?under=394106&level=small_area").json["items"]
                if a["code"] == DISTRICT)
    assert area["meeting_due_at"] == "2027-11-05T09:00:00+09:00"
