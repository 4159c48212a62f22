"""``caseapp users password`` and ``caseapp partners user``: passwords from stdin or a prompt."""

from datetime import timedelta

from sqlalchemy import select

from caseapp import cli
from caseapp.models import AuditEntry, User
from caseapp.services.core import auth, signin
from tests.web.console import PASSWORD


def test_users_password_reads_stdin_and_the_user_can_sign_in(app, seeded):
    auth.create_user(seeded, "tanaka", "counter")
    result = app.test_cli_runner().invoke(args=["users", "password", "tanaka"],
                                          input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert signin.sign_in(seeded, "tanaka", PASSWORD).name == "tanaka"
    (entry,) = seeded.scalars(select(AuditEntry).where(AuditEntry.action == "set_password"))
    assert entry.actor_role == "system"


def test_users_password_prompts_twice_at_a_terminal(app, seeded, monkeypatch):
    auth.create_user(seeded, "tanaka", "counter")
    monkeypatch.setattr(cli, "_at_terminal", lambda: True)
    runner = app.test_cli_runner()
    mismatch = runner.invoke(args=["users", "password", "tanaka"],
                             input=f"{PASSWORD}\nsomething else entirely\n"
                                   f"{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0, mismatch.output
    assert mismatch.output.count("もう一度") == 2  # asked again after the mismatch
    assert signin.sign_in(seeded, "tanaka", PASSWORD)


def test_users_password_refuses_a_short_password_and_an_unknown_user(app, seeded):
    auth.create_user(seeded, "tanaka", "counter")
    runner = app.test_cli_runner()
    short = runner.invoke(args=["users", "password", "tanaka"], input="short\n")
    assert short.exit_code != 0 and "12 文字以上" in short.output
    unknown = runner.invoke(args=["users", "password", "nobody"], input=PASSWORD + "\n")
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    empty = runner.invoke(args=["users", "password", "tanaka"], input="")
    assert empty.exit_code != 0


def test_partners_user_creates_several_users_bound_to_the_partner(app, seeded):
    runner = app.test_cli_runner()
    for name in ("jiritsu-1", "jiritsu-2"):
        result = runner.invoke(args=["partners", "user", "jiritsu", name], input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        assert f"partner user {name!r}" in result.output
    users = seeded.scalars(select(User).where(User.name.like("jiritsu-%"))).all()
    assert {(u.role, u.partner.code) for u in users} == {("partner", "jiritsu")}
    signed = signin.sign_in(seeded, "jiritsu-2", PASSWORD)
    assert signed.partner_id == users[0].partner_id
    assert signin.resume(seeded, signed.token, timedelta(minutes=30)).role == "partner"
    unknown = runner.invoke(args=["partners", "user", "nowhere", "x"], input=PASSWORD + "\n")
    assert unknown.exit_code != 0 and "nowhere" in unknown.output
    taken = runner.invoke(args=["partners", "user", "jiritsu", "jiritsu-1"],
                          input=PASSWORD + "\n")
    assert taken.exit_code != 0
