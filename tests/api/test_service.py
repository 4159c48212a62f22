"""The service around the endpoints: health, OpenAPI, and deny-by-default permissions."""

from caseapp.permissions import GRANTS, Permission


def test_health_reports_database_and_broker(anon):
    response = anon.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "broker": "ok"}


def test_openapi_document_is_generated_from_the_schemas(anon):
    response = anon.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/v1/consultations", "/api/v1/clients", "/api/v1/cases/{case_id}",
                 "/api/v1/health"):
        assert path in paths, path
    intake = paths["/api/v1/consultations"]["post"]
    assert "ConsultationIn" in str(intake["requestBody"])
    assert anon.get("/api/v1/docs").status_code == 200


def test_every_route_declares_a_permission(app):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("api-docs."):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "required_permission", None) is None:
            undeclared.append(rule.rule)
    assert undeclared == []


def test_a_view_without_a_permission_is_refused(tmp_path):
    from caseapp import create_app
    from tests.conftest import make_config

    fresh = create_app(make_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path))
    fresh.add_url_rule("/api/v1/_undeclared", "undeclared", lambda: "secret")
    response = fresh.test_client().get("/api/v1/_undeclared")
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_roles_nest_and_partners_hold_only_partner_permissions():
    assert GRANTS["counter"] < GRANTS["supervisor"] < GRANTS["admin"]
    assert all(p.value.startswith("partner:") for p in GRANTS["partner"])
    assert Permission.AUDIT_READ not in GRANTS["counter"]
