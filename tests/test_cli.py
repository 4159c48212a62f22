"""The `caseapp` command: users and tokens, seeding, and `caseapp up` as a new user runs it."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caseapp.models import AuditEntry, Partner, RuleSetVersion, User
from caseapp.services.core import auth, signin
from tests import logscan
from tests.helpers import EXAMPLE, free_port, wait_for


def test_users_create_prints_a_working_token_on_the_last_line(app, seeded):
    result = app.test_cli_runner().invoke(args=["users", "create", "tanaka", "--role", "counter"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    user = auth.authenticate(seeded, token)
    assert user is not None and user.name == "tanaka" and user.role == "counter"


def test_users_create_refuses_a_taken_name_and_unknown_role(app, seeded):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "sato", "--role", "admin"]).exit_code == 0
    again = runner.invoke(args=["users", "create", "sato", "--role", "admin"])
    assert again.exit_code != 0 and "exists" in again.output
    assert runner.invoke(args=["users", "create", "x", "--role", "root"]).exit_code != 0


def test_partners_token_binds_the_token_to_the_partner(app, seeded):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["partners", "token", "houterasu"])
    assert result.exit_code == 0, result.output
    user = auth.authenticate(seeded, result.output.strip().splitlines()[-1])
    assert user.role == "partner" and user.partner.code == "houterasu"
    unknown = runner.invoke(args=["partners", "token", "nowhere"])
    assert unknown.exit_code != 0 and "nowhere" in unknown.output


def test_users_revoke_stops_the_user_as_the_admin_page_does(app, seeded):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "kato", "--role", "counter"])
    token = created.output.strip().splitlines()[-1]
    password = "窓口の合言葉 correct horse"
    assert runner.invoke(args=["users", "password", "kato"], input=password + "\n").exit_code == 0
    console = signin.sign_in(seeded, "kato", password)

    result = runner.invoke(args=["users", "revoke", "kato"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("kato の利用を止めました")
    assert "revoked 1 token(s)" in result.output
    seeded.expire_all()
    kato = seeded.scalar(select(User).where(User.name == "kato"))
    assert not kato.active and auth.authenticate(seeded, token) is None
    assert signin.resume(seeded, console.token, timedelta(minutes=30)) is None
    with pytest.raises(signin.SignInFailed):
        signin.sign_in(seeded, "kato", password)
    entry = seeded.scalar(select(AuditEntry).where(AuditEntry.action == "revoke"))
    assert entry.resource_type == "user" and entry.resource_id == str(kato.id)
    assert entry.actor_label == "cli" and entry.detail == {"tokens": 1, "sessions": 1}

    unknown = runner.invoke(args=["users", "revoke", "nobody"])
    assert unknown.exit_code != 0 and "利用者 'nobody' はいません" in unknown.output


def test_seed_nankoku_is_idempotent(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "nankoku"])
    assert first.exit_code == 0 and "jiritsu" in first.output
    edited = session.scalars(select(Partner.id).order_by(Partner.id)).first()
    session.get(Partner, edited).name = "edited by an admin"
    session.commit()
    second = runner.invoke(args=["seed", "nankoku"])
    assert "partners added: none" in second.output and "unchanged" in second.output
    assert session.scalar(select(func.count()).select_from(Partner)) == 16
    assert session.scalar(select(func.count()).select_from(RuleSetVersion)) == 1
    assert session.get(Partner, edited).name == "edited by an admin"
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_seeding_again_adds_the_block_hokenjo_to_an_older_network(app, session):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed", "nankoku"])
    session.delete(session.scalar(select(Partner).where(Partner.code == "hokenjo")))
    session.commit()  # a network seeded before the 福祉保健所 was part of it
    again = runner.invoke(args=["seed", "nankoku"])
    assert again.exit_code == 0 and "hokenjo" in again.output
    hokenjo = session.scalar(select(Partner).where(Partner.code == "hokenjo"))
    assert hokenjo.layer == "block" and hokenjo.ack_sla_days == 1


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _call(url: str, token: str | None = None, body: dict | None = None):
    logscan.note_request(url, body)
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"}
                                                 if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to follow child processes")
def test_caseapp_up_routes_refers_and_stops_cleanly(tmp_path):
    """What a new user does: `caseapp up`, post a consultation, watch it delivered, Ctrl-C."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CASEAPP_", "CELERY_", "DATABASE_URL", "SECRET_KEY"))}
    env.update(CASEAPP_INSTANCE_PATH=str(tmp_path / "instance"), CASEAPP_SWEEP_SECONDS="2")
    proc = subprocess.Popen([sys.executable, "-m", "caseapp.cli", "up", "--port", str(port)],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = logscan.tee(proc, "caseapp-up")
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        def healthy():
            try:
                return _call(f"{base}/health")[1]["status"] == "ok"
            except OSError:
                return False

        wait_for(healthy, timeout=60, interval=0.3)
        token = next(line.strip() for line in lines if line.startswith("cat_"))
        status, body = _call(f"{base}/consultations", token, EXAMPLE)
        assert status == 201
        assert "houkatsu" in {d["partner"] for d in body["routing"]["decisions"]}

        def delivered():
            try:
                referrals = _call(f"{base}/consultations/{body['id']}", token)[1]["referrals"]
            except OSError:  # a refused connection says more in the output below
                return proc.poll() is not None and pytest.fail("".join(lines[-40:]))
            return {r["status"] for r in referrals} == {"sent"}

        wait_for(delivered, timeout=60, interval=0.3, message=lambda: "".join(lines[-40:]))
        family = _descendants(proc.pid)
        assert len(family) >= 3  # api, worker and beat at least
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0, "".join(lines[-20:])
    assert [pid for pid in family if _alive(pid)] == []
    assert not (tmp_path / "control").exists()
