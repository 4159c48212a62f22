"""Households (世帯): who lives together, and the cases that concern the household."""

from sqlalchemy import select

from caseapp.models import AuditEntry
from tests.helpers import EXAMPLE, assert_problem


def make(api, name):
    response = api.post("/api/v1/clients", json={"name": name})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_a_household_links_clients_with_their_relationship(api, session):
    father, mother, child = make(api, "山田 太郎"), make(api, "山田 花子"), make(api, "山田 一郎")
    response = api.post("/api/v1/households", json={
        "name": "山田家", "address": "南国市大埇甲1",
        "members": [{"client_id": father, "relationship": "head"},
                    {"client_id": mother, "relationship": "spouse"}]})
    assert response.status_code == 201, response.json
    household = response.json["id"]
    added = api.post(f"/api/v1/households/{household}/members",
                     json={"client_id": child, "relationship": "child"})
    assert added.status_code == 201, added.json
    members = {m["client_id"]: m for m in added.json["members"]}
    assert {k: (m["relationship"], m["relationship_label"]) for k, m in members.items()} == {
        father: ("head", "世帯主"), mother: ("spouse", "配偶者"), child: ("child", "子")}
    assert members[father]["name"] == "山田 太郎"
    detail = api.get(f"/api/v1/clients/{child}").json
    assert detail["household"] == {"household_id": household, "relationship": "child",
                                   "relationship_label": "子"}
    assert api.get(f"/api/v1/clients/{make(api, '佐藤')}").json["household"] is None
    actions = set(session.scalars(select(AuditEntry.action)
                                  .where(AuditEntry.resource_type == "household")))
    assert actions == {"create", "add_member"}


def test_a_member_can_change_relationship_and_leave(api):
    head, other = make(api, "山田 太郎"), make(api, "鈴木 次郎")
    household = api.post("/api/v1/households", json={"members": [
        {"client_id": head, "relationship": "head"},
        {"client_id": other, "relationship": "other"}]}).json["id"]
    changed = api.patch(f"/api/v1/households/{household}/members/{other}",
                        json={"relationship": "other_relative"})
    assert changed.status_code == 200, changed.json
    assert {m["client_id"]: m["relationship"] for m in changed.json["members"]}[other] \
        == "other_relative"
    removed = api.client.delete(f"/api/v1/households/{household}/members/{other}",
                                headers={"Authorization": f"Bearer {api.token}"})
    assert removed.status_code == 200, removed.json
    assert [m["client_id"] for m in removed.json["members"]] == [head]
    # Having left, the person may join another household.
    assert api.post("/api/v1/households", json={"members": [
        {"client_id": other, "relationship": "head"}]}).status_code == 201


def test_a_person_lives_in_one_household_at_a_time(api):
    person = make(api, "山田 太郎")
    first = api.post("/api/v1/households", json={"members": [
        {"client_id": person, "relationship": "head"}]}).json["id"]
    second = api.post("/api/v1/households", json={}).json["id"]
    problem = assert_problem(api.post(f"/api/v1/households/{second}/members",
                                      json={"client_id": person, "relationship": "child"}), 409)
    assert problem["household_id"] == first
    assert_problem(api.post(f"/api/v1/households/{first}/members",
                            json={"client_id": person, "relationship": "child"}), 409)


def test_bad_members_are_refused_field_by_field(api):
    a, b = make(api, "山田 太郎"), make(api, "山田 花子")
    problem = assert_problem(api.post("/api/v1/households", json={"members": [
        {"client_id": a, "relationship": "head"},
        {"client_id": b, "relationship": "head"}]}), 422)
    assert "members" in problem["errors"]
    problem = assert_problem(api.post("/api/v1/households", json={"members": [
        {"client_id": 999, "relationship": "head"}]}), 422)
    assert "members[0].client_id" in problem["errors"]
    problem = assert_problem(api.post("/api/v1/households", json={"members": [
        {"client_id": a, "relationship": "cousin"}]}), 422)
    assert "members.0.relationship" in problem["errors"]
    problem = assert_problem(api.post("/api/v1/households", json={"members": [
        {"client_id": a, "relationship": "head"}, {"client_id": a, "relationship": "child"}]}),
        422)
    assert "members[1].client_id" in problem["errors"]
    assert api.get(f"/api/v1/clients/{a}").json["household"] is None  # nothing half-written
    assert_problem(api.get("/api/v1/households/999"), 404)
    assert_problem(api.patch("/api/v1/households/999/members/1",
                             json={"relationship": "child"}), 404)


def test_a_case_can_belong_to_its_clients_household(api):
    intake = api.post("/api/v1/consultations", json=EXAMPLE).json
    household = api.post("/api/v1/households", json={}).json["id"]
    problem = assert_problem(api.patch(f"/api/v1/cases/{intake['case_id']}",
                                       json={"household_id": household}), 422)
    assert "household_id" in problem["errors"]
    api.post(f"/api/v1/households/{household}/members",
             json={"client_id": intake["client_id"], "relationship": "head"})
    response = api.patch(f"/api/v1/cases/{intake['case_id']}", json={"household_id": household})
    assert response.status_code == 200, response.json
    assert response.json["household_id"] == household
    assert api.get(f"/api/v1/households/{household}").json["case_ids"] == [intake["case_id"]]
    assert "household_id" in assert_problem(api.patch(
        f"/api/v1/cases/{intake['case_id']}", json={"household_id": 999}), 422)["errors"]
    cleared = api.patch(f"/api/v1/cases/{intake['case_id']}", json={"household_id": None})
    assert cleared.json["household_id"] is None


def test_households_can_be_renamed_and_are_staff_only(api, tokens):
    household = api.post("/api/v1/households", json={"name": "山田家"}).json["id"]
    renamed = api.patch(f"/api/v1/households/{household}", json={"name": "山田・佐藤家",
                                                                   "note": "二世帯"})
    assert renamed.json["name"] == "山田・佐藤家" and renamed.json["note"] == "二世帯"
    assert_problem(api.as_(tokens["partner:houkatsu"]).get(f"/api/v1/households/{household}"),
                   403)
    assert_problem(api.as_(None).get(f"/api/v1/households/{household}"), 401)
