"""What a meeting leaves behind: a review of needs_attention/unreachable in the coordinator's
queue (as a visit would put it), and each printed sheet in the person's disclosure file (§33)."""

import io

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select

from caseapp.models import CommunityTask
from caseapp.rules.calendar import TOKYO
from tests.community.conftest import DISTRICT
from tests.community.pages import set_up


@pytest.fixture
def district(api, seeded):
    return set_up(api, seeded)


def meeting(api, district) -> int:
    made = api.post("/api/v1/meetings", json={
        "kind": "network_watch", "area": DISTRICT, "held_on": "令和8年11月27日",
        "attendees": [{"member_id": district["people"]["minsei"]["id"]},
                      {"member_id": district["people"]["fukushi"]["id"]},
                      {"name": "社協 山本", "role": "staff"}]})
    assert made.status_code == 201, made.json
    return made.json["id"]


@pytest.mark.calendar
def test_a_review_needing_attention_queues_the_next_business_morning(api, district, session):
    a, b, c = district["watched"]
    meeting_id = meeting(api, district)
    # Friday 27 November 2026, 19:30: the evening meeting.
    with time_machine.travel("2026-11-27T19:30:00+09:00", tick=False):
        for entry, status in ((a, "needs_attention"), (b, "unreachable"), (c, "no_change")):
            done = api.post(f"/api/v1/meetings/{meeting_id}/reviews",
                            json={"watch_id": entry["id"], "status": status})
            assert done.status_code == 201, done.json
    tasks = list(session.scalars(select(CommunityTask).order_by(CommunityTask.watch_id)))
    assert [(t.watch_id, t.kind, t.status) for t in tasks] == [
        (a["id"], "watch_attention", "scheduled"), (b["id"], "watch_attention", "scheduled")]
    # Due on Monday at 9:00, the counter's next business morning.
    assert {t.due_at.astimezone(TOKYO).isoformat() for t in tasks} == {
        "2026-11-30T09:00:00+09:00"}


def test_each_printed_sheet_is_in_the_persons_disclosure_file(api, district, supervisor):
    a, _b, c = district["watched"]
    meeting_id = meeting(api, district)
    assert api.get(f"/api/v1/meetings/{meeting_id}/sheet.pdf").status_code == 200
    doc = supervisor.get(f"/api/v1/clients/{a['client_id']}/export").json
    sheets = [p for p in doc["provisions"] if p["kind"] == "watch_sheet"]
    assert len(sheets) == 1
    sheet = sheets[0]
    assert sheet["meeting_id"] == meeting_id and sheet["referral_id"] is None
    assert sheet["recipients"] == ["高橋 民子（民生委員・児童委員）", "西村 福子（福祉委員）",
                                   "社協 山本（職員）"]
    assert sheet["items"] == ["name", "address", "watch_for", "last_visit"]
    assert sheet["basis"] == "consent" and sheet["basis_label"] == "本人の同意"
    assert sheet["channel_label"] == "見守りの会議資料（印刷）"
    assert sheet["at"].endswith("+09:00") and "見守り支援ネットワーク会議" in sheet["to"]
    # 片岡さん's basis leaves out the 福祉委員 at that table: not printed, not disclosed.
    other = supervisor.get(f"/api/v1/clients/{c['client_id']}/export").json
    assert [p for p in other["provisions"] if p["kind"] == "watch_sheet"] == []
    pdf = supervisor.get(f"/api/v1/clients/{a['client_id']}/export.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    compact = text.replace(" ", "").replace("\n", "")
    assert "見守りの会議資料（印刷）" in compact and "高橋民子" in compact
