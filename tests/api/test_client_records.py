"""Client records: 和暦 birth dates, corrections, duplicate proposals and explicit merges."""

import pytest
from sqlalchemy import select

from caseapp.models import AuditEntry, Client, Consent, Consultation
from tests.helpers import EXAMPLE, assert_problem


def make(api, **body):
    response = api.post("/api/v1/clients", json=body)
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize(("typed", "stored"), [
    ("1952-04-01", "1952-04-01"),
    ("昭和27年4月1日", "1952-04-01"),
    ("S27.4.1", "1952-04-01"),
    ("昭和64年1月7日", "1989-01-07"),  # the last day of Shōwa
    ("平成元年1月8日", "1989-01-08"),  # the first day of Heisei
    ("H31.4.30", "2019-04-30"),
    ("R1.5.1", "2019-05-01"),
    ("令和元年5月1日", "2019-05-01"),
    ("大正15年12月24日", "1926-12-24"),
])
def test_birth_dates_are_accepted_as_iso_or_wareki(api, typed, stored):
    assert make(api, name="山田 太郎", birth_date=typed)["birth_date"] == stored


@pytest.mark.parametrize(("typed", "says"), [
    ("平成31年5月1日", "平成"),  # Heisei ended on 30 April 2019
    ("昭和64年1月8日", "昭和"),
    ("R1.4.30", "令和"),  # Reiwa began on 1 May 2019
    ("令和0年5月1日", "元年"),
    ("昭和27年2月30日", "存在しない"),
    ("2023-02-29", "存在しない"),
    ("昭和二十七年", "形式"),
    ("2999-01-01", "未来"),
    ("1850-01-01", "古すぎ"),
])
def test_impossible_birth_dates_are_422_with_a_clear_message(api, typed, says):
    problem = assert_problem(api.post("/api/v1/clients",
                                      json={"name": "山田 太郎", "birth_date": typed}), 422)
    assert any(says in message for message in problem["errors"]["birth_date"])


def test_intake_reports_a_bad_wareki_date_on_the_nested_field(api):
    body = {**EXAMPLE, "client": {**EXAMPLE["client"], "birth_date": "平成31年5月1日"}}
    problem = assert_problem(api.post("/api/v1/consultations", json=body), 422)
    assert "client.birth_date" in problem["errors"]


def test_every_bad_field_is_reported_at_once(api):
    problem = assert_problem(api.post("/api/v1/clients", json={
        "name": "　", "name_kana": "山田", "phone": "12345", "postal_code": "78-0004"}), 422)
    assert {"name", "name_kana", "phone", "postal_code"} <= set(problem["errors"])


def test_a_client_can_be_corrected(api, session):
    client = make(api, name="山田 太朗", name_kana="ヤマダ タロウ", phone="0901234567",
                  address="南国市大埇甲1")
    response = api.patch(f"/api/v1/clients/{client['id']}", json={
        "name": "山田 太郎", "phone": "090-1234-5678", "birth_date": "S27.4.1",
        "address": None})
    assert response.status_code == 200, response.json
    assert response.json["name"] == "山田 太郎"
    assert response.json["phone_display"] == "090-1234-5678"
    assert response.json["birth_date"] == "1952-04-01"
    assert response.json["address"] is None
    assert response.json["name_kana"] == "ヤマダ タロウ"  # untouched
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "update",
                                                    AuditEntry.resource_type == "client"))
    assert entry.detail["fields"] == ["address", "birth_date", "name", "phone"]


def test_correction_cannot_touch_other_fields(api):
    client = make(api, name="山田 太郎")
    problem = assert_problem(api.patch(f"/api/v1/clients/{client['id']}", json={
        "id": 99, "search_key": "X", "merged_into_id": 1, "created_by_id": 1}), 422)
    assert {"id", "search_key", "merged_into_id", "created_by_id"} <= set(problem["errors"])
    assert "name" in assert_problem(api.patch(f"/api/v1/clients/{client['id']}",
                                              json={"name": None}), 422)["errors"]


def test_a_bad_correction_changes_nothing(api):
    client = make(api, name="山田 太郎", phone="090-1234-5678")
    problem = assert_problem(api.patch(f"/api/v1/clients/{client['id']}",
                                       json={"name": "山田 一郎", "phone": "12"}), 422)
    assert "phone" in problem["errors"]
    again = api.get(f"/api/v1/clients/{client['id']}").json
    assert again["name"] == "山田 太郎" and again["phone"] == "09012345678"


def test_correcting_an_unknown_client_is_404(api):
    assert_problem(api.patch("/api/v1/clients/999", json={"name": "山田"}), 404)


# --- duplicate proposals -----------------------------------------------------------------

def dupes_of(api, client_id):
    response = api.get(f"/api/v1/clients/{client_id}/duplicates")
    assert response.status_code == 200, response.json
    return {d["client_id"]: d for d in response.json["possible_duplicates"]}


def test_same_reading_and_birth_date_is_proposed_not_merged(api):
    first = make(api, name="髙橋 花子", name_kana="たかはし はなこ", birth_date="1960-01-02")
    second = make(api, name="高橋 華子", name_kana="ﾀｶﾊｼ ﾊﾅｺ", birth_date="S35.1.2")
    proposal = second["possible_duplicates"]
    assert [d["client_id"] for d in proposal] == [first["id"]]
    assert set(proposal[0]["reasons"]) == {"same_reading", "same_birth_date"}
    assert proposal[0]["name"] == "髙橋 花子" and proposal[0]["birth_date"] == "1960-01-02"
    assert second["id"] != first["id"]  # two records until staff decide
    assert list(dupes_of(api, first["id"])) == [second["id"]]


def test_same_phone_is_proposed_but_a_family_member_is_not(api):
    mother = make(api, name="山田 花子", name_kana="ヤマダ ハナコ", birth_date="1950-05-05",
                  phone="088-823-1234")
    son = make(api, name="山田 一郎", name_kana="ヤマダ イチロウ", birth_date="1980-10-10",
               phone="0888231234")
    assert son["possible_duplicates"] == []  # shared home phone, clearly another person
    unknown = make(api, name="ヤマダ ハナ", phone="088-823-1234")
    reasons = {d["client_id"]: d["reasons"] for d in unknown["possible_duplicates"]}
    assert reasons == {mother["id"]: ["same_phone"], son["id"]: ["same_phone"]}


def test_a_typo_in_the_birth_date_does_not_hide_a_duplicate(api):
    first = make(api, name="西森 茂", name_kana="ニシモリ シゲル", birth_date="1948-03-12")
    typo = make(api, name="西森 茂", name_kana="ニシモリ シゲル", birth_date="1948-12-03")
    proposal = typo["possible_duplicates"]
    assert [d["client_id"] for d in proposal] == [first["id"]]
    assert "similar_birth_date" in proposal[0]["reasons"]
    namesake = make(api, name="西森 茂", name_kana="ニシモリ シゲル", birth_date="1990-07-30")
    assert first["id"] not in [d["client_id"] for d in namesake["possible_duplicates"]]


def test_same_name_and_address_is_proposed(api):
    first = make(api, name="岡林 実", address="南国市大埇甲１－２")
    second = make(api, name="岡林 實", address="南国市 大埇甲1-2")
    assert second["possible_duplicates"][0]["client_id"] == first["id"]
    assert set(second["possible_duplicates"][0]["reasons"]) == {"same_name", "same_address"}


def test_intake_of_a_new_client_proposes_duplicates(api):
    existing = make(api, name="山田 太郎", name_kana="ヤマダ タロウ", birth_date="1952-04-01")
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert response.status_code == 201, response.json
    assert [d["client_id"] for d in response.json["possible_duplicates"]] == [existing["id"]]


def test_on_demand_check_is_audited(api, session):
    first = make(api, name="山田 太郎", phone="090-1111-2222")
    second = make(api, name="山田 太郎", phone="090-1111-2222")
    assert list(dupes_of(api, first["id"])) == [second["id"]]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "duplicates"))
    assert entry.resource_id == str(first["id"]) and entry.detail["results"] == [second["id"]]


# --- merging -----------------------------------------------------------------------------

def intake_for(api, client_id):
    response = api.post("/api/v1/consultations", json={
        "client_id": client_id, "channel": "phone", "topics": ["debt"],
        "consent": {"scope": "network", "method": "oral",
                    "given_at": "2026-11-27T10:00:00+09:00"}})
    assert response.status_code == 201, response.json
    return response.json


def test_merge_moves_everything_to_the_survivor_and_is_audited(api, session):
    keep = make(api, name="山田 太郎", name_kana="ヤマダ タロウ")
    drop = make(api, name="山田 太郎", name_kana="ヤマダ タロウ", birth_date="1952-04-01",
                phone="090-1234-5678")
    kept_intake = intake_for(api, keep["id"])
    dropped_intake = intake_for(api, drop["id"])

    response = api.post(f"/api/v1/clients/{keep['id']}/merge",
                        json={"duplicate_id": drop["id"], "reason": "同一人物と本人確認"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["id"] == keep["id"]
    assert body["birth_date"] == "1952-04-01" and body["phone"] == "09012345678"  # filled
    assert {c["id"] for c in body["cases"]} == {kept_intake["case_id"],
                                                dropped_intake["case_id"]}
    assert len(body["consents"]) == 2

    session.expire_all()
    assert {c.client_id for c in session.scalars(select(Consultation))} == {keep["id"]}
    assert {c.client_id for c in session.scalars(select(Consent))} == {keep["id"]}
    merged = session.get(Client, drop["id"])
    assert merged.merged_into_id == keep["id"] and merged.merged_at is not None

    gone = assert_problem(api.get(f"/api/v1/clients/{drop['id']}"), 404)
    assert gone["merged_into"] == keep["id"]
    assert [c["id"] for c in api.get("/api/v1/clients",
                                     query_string={"q": "やまだ"}).json["items"]] == [keep["id"]]
    assert dupes_of(api, keep["id"]) == {}

    entries = {e.resource_id: e for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(("merge", "merged_into"))))}
    assert set(entries) == {str(keep["id"]), str(drop["id"])}
    detail = entries[str(keep["id"])].detail
    assert detail["merged"] == drop["id"] and detail["reason"] == "同一人物と本人確認"
    assert detail["moved"]["consultations.client_id"] == 1
    assert detail["moved"]["cases.client_id"] == 1
    assert detail["moved"]["consents.client_id"] == 1
    assert set(detail["filled"]) == {"birth_date", "phone"}
    assert entries[str(keep["id"])].actor_label == "counter-1"


def test_a_merged_record_cannot_take_new_consultations_or_be_merged_again(api):
    keep, drop = make(api, name="山田 太郎")["id"], make(api, name="山田 太郎")["id"]
    assert api.post(f"/api/v1/clients/{keep}/merge", json={"duplicate_id": drop}).status_code \
        == 200
    problem = assert_problem(api.post("/api/v1/consultations",
                                      json={"client_id": drop, "channel": "phone"}), 422)
    assert problem["merged_into"] == keep and "client_id" in problem["errors"]
    assert assert_problem(api.post(f"/api/v1/clients/{keep}/merge",
                                   json={"duplicate_id": drop}), 409)["merged_into"] == keep
    assert_problem(api.post(f"/api/v1/clients/{drop}/merge", json={"duplicate_id": keep}), 409)
    assert_problem(api.patch(f"/api/v1/clients/{drop}", json={"name": "x"}), 404)


def test_merging_into_itself_or_an_unknown_record_is_refused(api):
    keep = make(api, name="山田 太郎")["id"]
    assert "duplicate_id" in assert_problem(api.post(
        f"/api/v1/clients/{keep}/merge", json={"duplicate_id": keep}), 422)["errors"]
    assert "duplicate_id" in assert_problem(api.post(
        f"/api/v1/clients/{keep}/merge", json={"duplicate_id": 999}), 422)["errors"]
    assert_problem(api.post("/api/v1/clients/999/merge", json={"duplicate_id": keep}), 404)
    assert "duplicate_id" in assert_problem(api.post(
        f"/api/v1/clients/{keep}/merge", json={}), 422)["errors"]


def test_earlier_merges_are_repointed_to_the_final_survivor(api, session):
    a, b, c = (make(api, name="山田 太郎")["id"] for _ in range(3))
    assert api.post(f"/api/v1/clients/{b}/merge", json={"duplicate_id": c}).status_code == 200
    assert api.post(f"/api/v1/clients/{a}/merge", json={"duplicate_id": b}).status_code == 200
    session.expire_all()
    assert session.get(Client, c).merged_into_id == a
    assert assert_problem(api.get(f"/api/v1/clients/{c}"), 404)["merged_into"] == a


def test_household_membership_moves_with_a_merge(api):
    keep = make(api, name="山田 太郎")["id"]
    drop = make(api, name="山田 太郎")["id"]
    wife = make(api, name="山田 花子")["id"]
    household = api.post("/api/v1/households", json={"members": [
        {"client_id": drop, "relationship": "head"},
        {"client_id": wife, "relationship": "spouse"}]}).json
    assert api.post(f"/api/v1/clients/{keep}/merge", json={"duplicate_id": drop}).status_code \
        == 200
    members = api.get(f"/api/v1/households/{household['id']}").json["members"]
    assert {(m["client_id"], m["relationship"]) for m in members} == {(keep, "head"),
                                                                      (wife, "spouse")}
    assert api.get(f"/api/v1/clients/{keep}").json["household"]["relationship_label"] \
        == "世帯主"


def test_records_in_two_households_are_not_merged_and_nothing_changes(api, session):
    keep = make(api, name="山田 太郎")["id"]
    drop = make(api, name="山田 太郎")["id"]
    intake_for(api, drop)
    for client in (keep, drop):
        api.post("/api/v1/households", json={"members": [{"client_id": client,
                                                          "relationship": "head"}]})
    problem = assert_problem(api.post(f"/api/v1/clients/{keep}/merge",
                                      json={"duplicate_id": drop}), 409)
    assert "duplicate_id" in problem["errors"]
    session.expire_all()
    assert session.get(Client, drop).merged_into_id is None
    assert {c.client_id for c in session.scalars(select(Consultation))} == {drop}
    assert api.get(f"/api/v1/clients/{drop}").status_code == 200


def test_partners_cannot_merge(api, tokens):
    keep, drop = make(api, name="山田 太郎")["id"], make(api, name="山田 太郎")["id"]
    assert_problem(api.as_(tokens["partner:jiritsu"]).post(
        f"/api/v1/clients/{keep}/merge", json={"duplicate_id": drop}), 403)
