"""GET /audit?person=N: the entries about one person's record, as the /audit page shows."""

from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from tests.helpers import assert_problem


def test_the_audit_log_answers_for_one_person(api, tokens, session):
    staff = Actor(user_id=None, name="suzuki", role="counter")
    for client_id in (3, 4, 3):
        audit.record(session, staff, "read", "client", client_id)
    session.commit()
    supervisor = api.as_(tokens["supervisor"])
    body = supervisor.get("/api/v1/audit", query_string={"person": 3}).json
    assert body["total"] == 2 and {i["resource_id"] for i in body["items"]} == {"3"}
    assert_problem(supervisor.get("/api/v1/audit", query_string={"person": "x"}), 422)
