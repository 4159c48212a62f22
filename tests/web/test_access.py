"""Staff and partner users each reach only their side of the console; forms need their token."""

from sqlalchemy import select

from caseapp.models import AuditEntry
from tests.web.console import BROWSER_ACCEPT


def test_a_partner_user_goes_to_the_partner_side_and_never_to_staff_pages(console, session):
    response = console.sign_in("houkatsu-tanaka")
    assert response.location == "/partner/"
    assert console.get("/").location == "/partner/"
    page = console.get("/partner/").get_data(as_text=True)
    assert "受信箱" in page and "houkatsu-tanaka" in page and "連携先" in page
    for path in ("/probe/staff", "/probe/audit"):
        response = console.get(path)
        assert response.status_code == 403, path
        assert "このページを開く権限がありません" in response.get_data(as_text=True)
    denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "access")).all()
    assert [e.detail["wanted"] for e in denied] == ["staff", "staff"]
    assert {e.actor_label for e in denied} == {"houkatsu-tanaka"}


def test_staff_never_reach_the_partner_side(console):
    console.sign_in("suzuki")
    assert console.get("/partner/").status_code == 403
    assert console.get("/probe/staff").get_data(as_text=True) == "staff page for suzuki"
    # A partner's next page is not a staff member's.
    console.sign_out()
    assert console.sign_in("suzuki", next="/partner/").location == "/"


def test_a_staff_page_needs_its_permission(console):
    console.sign_in("suzuki")
    assert console.get("/probe/audit").status_code == 403
    console.sign_out()
    console.sign_in("sato")
    assert console.get("/probe/audit").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in_and_back(console):
    response = console.get("/probe/staff?x=1")
    assert response.status_code == 302
    assert response.location == "/login?next=/probe/staff?x%3D1"
    # htmx asks for a full page load rather than a form swapped into a fragment.
    response = console.get("/probe/staff", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")
    assert console.get("/partner/").location.startswith("/login")


def test_a_view_that_declares_no_access_is_refused(console):
    console.sign_in("sato")
    assert console.get("/probe/undeclared").status_code == 403


def test_forms_without_their_csrf_token_are_refused_in_japanese(console):
    response = console.post_raw("/login", data={"name": "suzuki", "password": "x" * 12},
                                   headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 400
    assert "送信を受け付けられませんでした" in response.get_data(as_text=True)
    console.sign_in("suzuki")
    assert console.post_raw("/probe/staff", data={}).status_code == 400
    assert console.post_raw("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert console.get("/").status_code == 200  # still signed in
    # htmx sends the token as a header, from the page it came with.
    token = console.csrf_token("/")
    assert console.post_raw("/probe/staff", headers={"X-CSRFToken": token}).status_code == 200


def test_api_tokens_keep_working_without_csrf(app, console, tokens):
    response = app.test_client().get("/api/v1/cases",
                                     headers={"Authorization": f"Bearer {tokens['counter']}"})
    assert response.status_code == 200
    response = app.test_client().post(
        "/api/v1/clients", json={"name": "山田 花子"},
        headers={"Authorization": f"Bearer {tokens['counter']}"})
    assert response.status_code == 201


def test_console_pages_load_nothing_from_elsewhere(console):
    console.sign_in("suzuki")
    response = console.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    for asset in ("/static/vendor/htmx/htmx.min.js", "/static/console/console.css"):
        assert asset in html
        assert console.client.get(asset).status_code == 200
