"""GET /audit?person=N: the entries about one person's record, as the /audit page shows."""

from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from tests.helpers import assert_problem


def test_the_audit_log_answers_for_one_person(api, tokens, session):
    ids = [api.post("/api/v1/clients", json={"name": f"監査 {n}"}).json["id"] for n in "一二"]
    staff = Actor(user_id=None, name="suzuki", role="counter")
    for client_id in (ids[0], ids[1], ids[0]):
        audit.record(session, staff, "read", "client", client_id)
    session.commit()
    supervisor = api.as_(tokens["supervisor"])
    body = supervisor.get("/api/v1/audit", query_string={"person": ids[0]}).json
    mine = [i for i in body["items"] if i["actor"] == "suzuki"]
    assert len(mine) == 2 and {i["resource_id"] for i in body["items"]} == {str(ids[0])}
    assert_problem(supervisor.get("/api/v1/audit", query_string={"person": "x"}), 422)
