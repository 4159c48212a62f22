"""Changing one's own password, and the 仮パスワード an administrator sets, which closes every
page but the password change until its user chooses their own."""

from sqlalchemy import select

from caseapp.models import AuditEntry, User, WebSession
from caseapp.services.core import signin, users
from caseapp.services.core.actors import SYSTEM
from tests.web.console import PASSWORD, Console

NEW = "自分だけの長い合言葉 2026"


def _user(session, name) -> User:
    session.expire_all()
    return session.scalar(select(User).where(User.name == name))


def test_a_temporary_password_opens_only_the_password_page(app, session, people):
    written = users.create(session, SYSTEM, name="takahashi", role="counter")
    temporary = written.shown_password
    console = Console(app.test_client())
    signed = console.sign_in("takahashi", temporary)
    assert signed.status_code == 302
    for page in ("/", "/clients", "/consultations/new"):
        sent = console.get(page)
        assert sent.status_code == 302 and sent.headers["Location"].endswith("/password"), page
    htmx = console.get("/clients", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/password")
    page = console.get("/password").get_data(as_text=True)
    assert "仮パスワード" in page and 'id="temporary-password"' in page

    changed = console.post("/password", {"current": temporary, "password": NEW, "confirm": NEW},
                           token_from="/password")
    assert changed.status_code == 302
    assert not _user(session, "takahashi").password_temporary
    home = console.get("/")
    assert home.status_code == 200 and 'id="temporary-password"' not in home.get_data(as_text=True)
    # The temporary one no longer opens anything; the new one does.
    other = Console(app.test_client())
    assert other.sign_in("takahashi", temporary).status_code == 422
    assert other.sign_in("takahashi", NEW).status_code == 302


def test_a_reset_by_the_admin_makes_the_password_temporary_again(app, session, people):
    user = _user(session, people["counter"])
    assert not user.password_temporary
    users.reset_password(session, SYSTEM, user.id, "管理者が決めた仮の合言葉")
    assert _user(session, people["counter"]).password_temporary
    console = Console(app.test_client())
    console.sign_in(people["counter"], "管理者が決めた仮の合言葉")
    assert console.get("/").headers["Location"].endswith("/password")


def test_a_partner_user_with_a_temporary_password_is_stopped_too(app, session, people):
    written = users.create(session, SYSTEM, name="houkatsu-new", role="partner",
                           partner_code="houkatsu")
    console = Console(app.test_client())
    console.sign_in("houkatsu-new", written.shown_password)
    sent = console.get("/partner/")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/password")


def test_wrong_current_mismatch_and_short_are_refused_per_field(app, session, people):
    console = Console(app.test_client())
    console.sign_in(people["counter"])

    def change(current, new, confirm):
        return console.post("/password", {"current": current, "password": new,
                                          "confirm": confirm}, token_from="/password")

    wrong = change("違うパスワードです", NEW, NEW)
    assert wrong.status_code == 422 and "今のパスワードが違います" in wrong.get_data(as_text=True)
    mismatch = change(PASSWORD, NEW, NEW + "x")
    assert mismatch.status_code == 422
    assert "新しいパスワードと一致しません" in mismatch.get_data(as_text=True)
    short = change(PASSWORD, "短い", "短い")
    assert short.status_code == 422 and "12 文字以上" in short.get_data(as_text=True)
    same = change(PASSWORD, PASSWORD, PASSWORD)
    assert same.status_code == 422 and "今と違うパスワード" in same.get_data(as_text=True)
    # Nothing changed, and the wrong guess is in the audit log.
    assert Console(app.test_client()).sign_in(people["counter"]).status_code == 302
    denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "change_password",
                                                      AuditEntry.outcome == "denied")).all()
    assert len(denied) == 1


def test_a_change_ends_the_other_sessions_and_keeps_this_one(app, session, people):
    elsewhere = signin.sign_in(session, people["counter"], PASSWORD)
    console = Console(app.test_client())
    console.sign_in(people["counter"])
    changed = console.post("/password", {"current": PASSWORD, "password": NEW, "confirm": NEW},
                           token_from="/password")
    assert changed.status_code == 302
    assert console.get("/").status_code == 200
    session.expire_all()
    assert session.scalar(select(WebSession.ended_at).where(
        WebSession.token_hash == signin._digest(elsewhere.token))) is not None
    done = session.scalars(select(AuditEntry).where(AuditEntry.action == "change_password",
                                                    AuditEntry.outcome == "success")).all()
    assert len(done) == 1 and NEW not in str(done[0].detail)
