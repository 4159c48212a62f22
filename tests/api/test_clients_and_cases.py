from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from caseapp.models import AuditEntry, Case
from tests.helpers import EXAMPLE, assert_problem


def test_create_client_proposes_duplicates_without_merging(api):
    first = api.post("/api/v1/clients", json={"name": "髙橋 花子", "name_kana": "たかはし はなこ",
                                              "birth_date": "1960-01-02", "phone": "090-1234-5678"})
    assert first.status_code == 201, first.json
    assert first.json["name"] == "髙橋 花子"  # the name is kept as entered
    assert first.json["name_kana"] == "タカハシ ハナコ"
    assert first.json["phone"] == "09012345678"
    assert first.json["possible_duplicates"] == []
    second = api.post("/api/v1/clients", json={"name": "高橋花子", "name_kana": "ﾀｶﾊｼ ﾊﾅｺ",
                                               "birth_date": "S35.1.2"})
    assert second.status_code == 201
    dupes = second.json["possible_duplicates"]
    assert [d["client_id"] for d in dupes] == [first.json["id"]]
    assert {"same_reading", "same_birth_date"} <= set(dupes[0]["reasons"])
    assert second.json["id"] != first.json["id"]


def test_search_finds_a_client_however_the_name_is_typed(api):
    created = api.post("/api/v1/clients", json={"name": "山﨑 太郎", "name_kana": "ヤマザキ タロウ",
                                                "phone": "088-123-4567"}).json
    for q in ("山崎", "やまざき", "ﾔﾏｻﾞｷ", "ヤマザキ　タロウ", "0881234567", "123-4567"):
        found = api.get("/api/v1/clients", query_string={"q": q})
        assert found.status_code == 200, found.json
        assert [c["id"] for c in found.json["items"]] == [created["id"]], q
        assert found.json["total"] == 1
    assert api.get("/api/v1/clients", query_string={"q": "佐藤"}).json["items"] == []


def test_search_needs_a_query(api):
    assert "q" in assert_problem(api.get("/api/v1/clients"), 422)["errors"]


def test_client_read_shows_cases_and_consents_and_is_audited(api, session):
    intake = api.post("/api/v1/consultations", json=EXAMPLE).json
    response = api.get(f"/api/v1/clients/{intake['client_id']}")
    assert response.status_code == 200
    assert [c["id"] for c in response.json["cases"]] == [intake["case_id"]]
    assert response.json["consents"][0]["scope"] == "network"
    assert response.headers["Cache-Control"] == "no-store"
    reads = list(session.scalars(select(AuditEntry).where(
        AuditEntry.action == "read", AuditEntry.resource_type == "client")))
    assert [r.resource_id for r in reads] == [str(intake["client_id"])]
    assert reads[0].actor_label == "counter-1" and reads[0].actor_role == "counter"


def test_case_can_be_reassigned_and_rescheduled(api, session, tokens):
    intake = api.post("/api/v1/consultations", json=EXAMPLE).json
    supervisor = session.scalar(select(Case)).owner  # noqa: F841  (owner loaded for clarity)
    from caseapp.models import User

    other = session.scalar(select(User).where(User.name == "supervisor-1"))
    when = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    response = api.patch(f"/api/v1/cases/{intake['case_id']}",
                         json={"owner_id": other.id, "next_action_at": when,
                               "next_action": "本人へ電話"})
    assert response.status_code == 200, response.json
    assert response.json["owner_id"] == other.id
    assert response.json["next_action"] == "本人へ電話"


def test_an_open_case_cannot_lose_its_owner_or_date(api):
    intake = api.post("/api/v1/consultations", json=EXAMPLE).json
    problem = assert_problem(api.patch(f"/api/v1/cases/{intake['case_id']}",
                                       json={"owner_id": None}), 422)
    assert "owner_id" in problem["errors"]


def test_partner_users_cannot_own_cases(api, session):
    from caseapp.models import User

    intake = api.post("/api/v1/consultations", json=EXAMPLE).json
    partner_user = session.scalar(select(User).where(User.role == "partner"))
    problem = assert_problem(api.patch(f"/api/v1/cases/{intake['case_id']}",
                                       json={"owner_id": partner_user.id}), 422)
    assert "owner_id" in problem["errors"]


def test_case_fields_outside_the_patch_schema_are_refused(api):
    intake = api.post("/api/v1/consultations", json=EXAMPLE).json
    problem = assert_problem(api.patch(f"/api/v1/cases/{intake['case_id']}",
                                       json={"id": 5, "client_id": 1}), 422)
    assert {"id", "client_id"} <= set(problem["errors"])


def test_lost_cases_are_those_without_owner_or_overdue(api, session):
    on_time = api.post("/api/v1/consultations", json=EXAMPLE).json["case_id"]
    overdue = api.post("/api/v1/consultations", json={"channel": "phone"}).json["case_id"]
    orphan = api.post("/api/v1/consultations", json={"channel": "phone"}).json["case_id"]
    session.get(Case, overdue).next_action_at = datetime.now(UTC) - timedelta(hours=1)
    session.get(Case, orphan).owner_id = None
    session.commit()
    lost = api.get("/api/v1/cases", query_string={"lost": "true"})
    assert lost.status_code == 200
    assert sorted(c["id"] for c in lost.json["items"]) == sorted([overdue, orphan])
    assert on_time not in [c["id"] for c in lost.json["items"]]
    everything = api.get("/api/v1/cases").json
    assert everything["total"] == 3
