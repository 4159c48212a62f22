"""Signing in to the console: passwords, the cookie, sign-out, the idle timeout, throttling."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from caseapp import create_app
from caseapp.models import AuditEntry, User, WebSession
from caseapp.models.types import utcnow
from caseapp.services.core import auth, signin
from caseapp.services.core.errors import Invalid, NotFound
from tests.conftest import make_config
from tests.web.console import PASSWORD, Console


def _audit(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.id)).all()


# -- passwords -----------------------------------------------------------------------------------


def test_passwords_are_kept_as_argon2id_hashes_only(session, people):
    user = session.scalar(select(User).where(User.name == "suzuki"))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_a_short_password_is_refused_in_japanese(session, people):
    with pytest.raises(Invalid) as refused:
        signin.set_password(session, "suzuki", "short")
    assert "12 文字以上" in refused.value.detail
    with pytest.raises(NotFound):
        signin.set_password(session, "nobody", PASSWORD)


def test_a_partner_may_have_several_users_each_bound_to_it(session, people):
    users = session.scalars(select(User).where(User.name.like("houkatsu-%"))).all()
    assert {u.name for u in users} == {"houkatsu-tanaka", "houkatsu-ito"}
    assert {u.role for u in users} == {"partner"}
    assert {u.partner.code for u in users} == {"houkatsu"}
    with pytest.raises(NotFound):
        signin.create_partner_user(session, "no-such-partner", "x", PASSWORD)
    with pytest.raises(Invalid):
        signin.create_partner_user(session, "houkatsu", "suzuki", PASSWORD)


def test_a_new_password_ends_the_open_sessions(session, people):
    signed = signin.sign_in(session, "suzuki", PASSWORD)
    signin.set_password(session, "suzuki", "another long password")
    assert signin.resume(session, signed.token, timedelta(minutes=30)) is None
    with pytest.raises(signin.SignInFailed):
        signin.sign_in(session, "suzuki", PASSWORD)


# -- sign-in and sign-out over HTTP --------------------------------------------------------------


def test_a_browser_is_sent_to_sign_in_then_sees_home(console):
    response = console.get("/")
    assert response.status_code == 302 and response.location.endswith("/login")
    page = console.get("/login").get_data(as_text=True)
    assert 'lang="ja"' in page and "利用者名" in page and "パスワード" in page
    response = console.sign_in("suzuki")
    assert response.status_code == 302 and response.location == "/"
    home = console.get("/").get_data(as_text=True)
    assert "<h1>ホーム</h1>" in home and "suzuki" in home and "サインアウト" in home
    assert 'aria-current="page"' in home


def test_the_cookie_is_httponly_lax_and_secure_only_over_https(console):
    cookie = console.sign_in("suzuki").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "caseapp_session=" in cookie
    secure = Console(console.client.application.test_client())
    token = secure.csrf_token()
    secure._fresh_request()
    response = secure.client.post(
        "/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
        data={"csrf_token": token, "name": "suzuki", "password": PASSWORD})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_wrong_password_is_refused_in_japanese_and_audited(console, session):
    response = console.sign_in("suzuki", "wrong password!!")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "利用者名またはパスワードが違います" in page and 'role="alert"' in page
    console.sign_in("nobody", "wrong password!!")
    denied = [e for e in _audit(session, "sign_in") if e.outcome == "denied"]
    assert [e.detail["reason"] for e in denied] == ["bad_credentials", "unknown_user"]
    assert denied[0].actor_label == "suzuki" and denied[1].actor_id is None
    # Neither the typed name nor the password is kept.
    assert all("nobody" not in str(e.detail) and "wrong" not in str(e.detail) for e in denied)


def test_empty_fields_are_named_beside_each_field(console):
    response = console.post("/login", {"name": "", "password": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "利用者名を入力してください" in page and "パスワードを入力してください" in page
    assert 'aria-describedby="name-error"' in page


def test_a_success_is_audited_and_sign_out_ends_the_session_on_the_server(console, session):
    console.sign_in("suzuki")
    (entry,) = [e for e in _audit(session, "sign_in") if e.outcome == "success"]
    assert entry.actor_label == "suzuki" and entry.actor_role == "counter"
    cookie = console.client.get_cookie("caseapp_session").value
    response = console.sign_out()
    assert response.status_code == 302 and response.location == "/login"
    assert "サインアウトしました" in console.get("/login").get_data(as_text=True)
    assert _audit(session, "sign_out")[0].actor_label == "suzuki"
    # The old cookie, replayed, opens nothing: the session ended on the server.
    console.client.set_cookie("caseapp_session", cookie)
    assert console.get("/").status_code == 302
    assert session.scalar(select(WebSession)).ended_at is not None


def test_the_session_ends_after_the_idle_timeout(console, app, session):
    idle = app.config["CASEAPP"].session_idle_minutes
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        console.sign_in("suzuki")
        clock.move_to(start + timedelta(minutes=idle - 2))
        assert console.get("/").status_code == 200  # activity keeps it alive
        clock.move_to(start + timedelta(minutes=2 * idle - 3))
        assert console.get("/").status_code == 200
        clock.move_to(start + timedelta(minutes=3 * idle))
        response = console.get("/")
        assert response.status_code == 302 and response.location.endswith("/login")
        page = console.get("/login").get_data(as_text=True)
    assert "一定時間操作がなかったため" in page
    assert _audit(session, "sign_out")[0].detail == {"reason": "idle"}


def test_the_idle_timeout_is_configurable():
    from caseapp.config import from_env

    assert from_env({"CASEAPP_INSTANCE_PATH": "/tmp/x", "SECRET_KEY": "s"}) \
        .session_idle_minutes == 30
    config = from_env({"CASEAPP_INSTANCE_PATH": "/tmp/x", "SECRET_KEY": "s",
                       "CASEAPP_SESSION_IDLE_MINUTES": "5"})
    assert config.session_idle_minutes == 5
    # The server ends the session; the cookie outlives it to say why on the next visit.
    assert config.flask_mapping()["PERMANENT_SESSION_LIFETIME"] == 12 * 3600


def test_revoking_a_user_ends_their_console_session(console, session):
    console.sign_in("suzuki")
    assert console.get("/").status_code == 200
    auth.revoke_user(session, "suzuki")
    assert console.get("/").status_code == 302


def test_next_leads_back_only_into_this_server(console):
    response = console.sign_in("suzuki", next="//elsewhere.example/")
    assert response.location == "/"
    console.sign_out()
    response = console.sign_in("suzuki", next="/probe/staff")
    assert response.location == "/probe/staff"


def test_failed_sign_ins_are_throttled_and_the_refusal_audited(database_url, tmp_path, people,
                                                                session):
    app = create_app(make_config(database_url, tmp_path, ratelimit_enabled=True,
                                 ratelimit_auth_failures="3 per minute"))
    console = Console(app.test_client())
    for _ in range(3):
        assert console.sign_in("suzuki", "wrong password!!").status_code == 422
    response = console.sign_in("suzuki")  # even the right password waits now
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "サインインの失敗が続いたため" in response.get_data(as_text=True)
    refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "access")).all()
    assert refused[-1].detail["reason"] == "rate_limited"
    # The same counter stops an API client guessing tokens from that address.
    assert app.test_client().get("/api/v1/cases", headers={
        "Authorization": "Bearer cat_x"}).status_code == 429
