"""Least privilege and abuse limits: denied attempts audited, tokens revocable, rate limits."""

from sqlalchemy import select

from caseapp import create_app
from caseapp.models import AuditEntry
from tests.conftest import Api, make_config
from tests.helpers import EXAMPLE, assert_problem


def test_a_denied_attempt_is_audited(api, tokens, session):
    assert_problem(api.get("/api/v1/audit"), 403)
    denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert len(denied) == 1
    assert denied[0].actor_label == "counter-1"
    assert denied[0].detail["path"] == "/api/v1/audit"


def test_an_invalid_token_is_audited_without_an_actor(anon, session):
    assert_problem(anon.get("/api/v1/cases", headers={"Authorization": "Bearer cat_guess"}), 401)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.outcome == "denied"))
    assert entry.actor_id is None and entry.action == "access"


def test_supervisors_read_the_audit_log_filtered(api, tokens):
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    api.get(f"/api/v1/clients/{created['client_id']}")
    supervisor = api.as_(tokens["supervisor"])
    response = supervisor.get("/api/v1/audit", query_string={
        "resource": "client", "resource_id": str(created["client_id"])})
    assert response.status_code == 200, response.json
    actions = [e["action"] for e in response.json["items"]]
    assert actions == ["read", "create"]  # newest first
    assert all(e["actor"] == "counter-1" and len(e["hash"]) == 64
               for e in response.json["items"])
    by_actor = supervisor.get("/api/v1/audit", query_string={"actor": "nobody"}).json
    assert by_actor["items"] == []


def test_revoked_tokens_stop_working_at_once(app, api, tokens):
    assert api.get("/api/v1/cases").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "revoke", "counter-1"])
    assert result.exit_code == 0 and "revoked 1" in result.output
    assert_problem(api.get("/api/v1/cases"), 401)
    partner = api.as_(tokens["partner:houkatsu"])
    result = app.test_cli_runner().invoke(args=["partners", "revoke", "houkatsu"])
    assert result.exit_code == 0, result.output
    assert_problem(partner.get("/api/v1/health".replace("health", "cases")), 401)


def test_personal_data_is_never_cached_and_headers_are_strict(api):
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_ids_and_owners_cannot_be_set_through_bodies(api):
    body = {**EXAMPLE, "id": 99, "case_id": 5, "status": "closed", "created_at": "2020-01-01"}
    problem = assert_problem(api.post("/api/v1/consultations", json=body), 422)
    assert {"id", "case_id", "status", "created_at"} <= set(problem["errors"])
    client = {"name": "山田", "id": 7, "created_at": "2020-01-01T00:00:00+09:00"}
    problem = assert_problem(api.post("/api/v1/clients", json=client), 422)
    assert {"id", "created_at"} <= set(problem["errors"])


def limited_app(database_url, tmp_path, **limits):
    return create_app(make_config(database_url, tmp_path, ratelimit_enabled=True, **limits))


def test_requests_over_the_limit_get_429_with_retry_after(database_url, tmp_path, tokens):
    app = limited_app(database_url, tmp_path, ratelimit_default="3 per minute")
    client = Api(app.test_client(), tokens["counter"])
    for _ in range(3):
        assert client.get("/api/v1/cases").status_code == 200
    problem = assert_problem(client.get("/api/v1/cases"), 429)
    assert problem["status"] == 429
    assert int(client.get("/api/v1/cases").headers["Retry-After"]) > 0
    # Another token has its own budget.
    assert client.as_(tokens["admin"]).get("/api/v1/cases").status_code == 200


def test_failed_sign_ins_are_limited_harder(database_url, tmp_path, tokens):
    app = limited_app(database_url, tmp_path, ratelimit_auth_failures="3 per minute")
    client = Api(app.test_client())
    for attempt in range(3):
        token = f"cat_wrong{attempt}"
        assert client.as_(token).get("/api/v1/cases").status_code == 401
    response = client.as_(tokens["counter"]).get("/api/v1/cases")
    problem = assert_problem(response, 429)
    assert "failed" in problem["detail"]
    assert int(response.headers["Retry-After"]) > 0


def test_limits_are_shared_through_redis_across_processes(database_url, tmp_path, tokens):
    from tests.conftest import REDIS_URL, need, redis_problem

    need("Redis", redis_problem())
    apps = [limited_app(database_url, tmp_path / str(n), ratelimit_default="3 per minute",
                        ratelimit_storage=REDIS_URL) for n in range(2)]
    first, second = (Api(a.test_client(), tokens["counter"]) for a in apps)
    assert first.get("/api/v1/cases").status_code == 200
    assert second.get("/api/v1/cases").status_code == 200
    assert first.get("/api/v1/cases").status_code == 200
    assert_problem(second.get("/api/v1/cases"), 429)
