"""Processes of a deployment side by side: each keeps its own control socket, and links sent to
partners point at the address actually served."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests import logscan
from tests.helpers import EXAMPLE, free_port, wait_for
from tests.http_sink import Sink
from tests.test_cli import _call


def _env(instance: Path, home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CASEAPP_", "CELERY_", "DATABASE_URL", "SECRET_KEY",
                                "XDG_RUNTIME_DIR"))}
    env.update(CASEAPP_INSTANCE_PATH=str(instance), HOME=str(home), CASEAPP_SWEEP_SECONDS="2",
               CASEAPP_WEBHOOK_ALLOW_PRIVATE="1", **extra)
    return env


def _start(args: list[str], env: dict, cwd: Path) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "caseapp.cli", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    return proc, logscan.tee(proc, f"caseapp-{args[0]}")


def _healthy(port: int) -> bool:
    try:
        return _call(f"http://127.0.0.1:{port}/api/v1/health")[1]["status"] == "ok"
    except OSError:
        return False


def _stop(proc: subprocess.Popen, lines: list[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            pytest.fail("did not stop on SIGINT:\n" + "".join(lines[-20:]))


def _patch(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PATCH",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc and Unix sockets")
def test_two_instances_keep_their_own_control_socket_and_links_follow_the_port(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    first, second = tmp_path / "first", tmp_path / "second"
    up_port, api_port = free_port(), free_port()
    up, up_lines = _start(["up", "--port", str(up_port)], _env(first, home), tmp_path)
    api = api_lines = None
    sink = Sink()
    try:
        wait_for(lambda: _healthy(up_port), timeout=90, interval=0.3)
        api, api_lines = _start(["api", "--port", str(api_port), "--workers", "1"],
                                _env(second, home), tmp_path)
        wait_for(lambda: _healthy(api_port), timeout=60, interval=0.3)
        mine, theirs = first / f"gunicorn-{up_port}.ctl", second / f"gunicorn-{api_port}.ctl"
        wait_for(lambda: mine.is_socket() and theirs.is_socket(), timeout=20)
        assert not (home / ".gunicorn").exists()

        _stop(api, api_lines)
        assert api.returncode == 0, "".join(api_lines[-20:])
        assert mine.is_socket(), "stopping one instance removed another's control socket"

        # Links sent to partners name the port `up` serves, not the default :8000.
        token = next(line.strip() for line in up_lines if line.startswith("cat_"))
        base = f"http://127.0.0.1:{up_port}/api/v1"
        _patch(f"{base}/partners/houkatsu", token, {"webhook_url": sink.url})
        status, _body = _call(f"{base}/consultations", token, EXAMPLE)
        assert status == 201
        wait_for(lambda: sink.received, timeout=30, interval=0.2)
        data = json.loads(sink.received[0].body)["data"]
        assert data["inbox_url"].startswith(f"http://127.0.0.1:{up_port}/api/v1/partner/"), data
    finally:
        sink.close()
        if api is not None:
            _stop(api, api_lines)
        _stop(up, up_lines)
    assert up.returncode == 0, "".join(up_lines[-20:])
    assert not mine.exists()  # gunicorn cleans up its own socket, and only its own


def test_an_explicit_base_url_wins_over_the_served_address(tmp_path):
    from caseapp.config import from_env

    env = {"CASEAPP_INSTANCE_PATH": str(tmp_path)}
    assert from_env(env).served_at("127.0.0.1", 8811) == "http://127.0.0.1:8811"
    env["CASEAPP_BASE_URL"] = "https://caseapp.city.example.lg.jp/"
    assert from_env(env).served_at("127.0.0.1", 8811) == "https://caseapp.city.example.lg.jp"


def test_migrations_may_name_the_schema_owner_apart_from_the_apps_role(tmp_path):
    from caseapp.config import from_env

    env = {"CASEAPP_INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": "postgres://caseapp_app@db/caseapp",
           "CASEAPP_MIGRATION_DATABASE_URL": "postgresql://caseapp_owner@db/caseapp"}
    config = from_env(env)
    assert config.database_url == "postgresql+psycopg://caseapp_app@db/caseapp"
    assert config.migration_database_url == "postgresql+psycopg://caseapp_owner@db/caseapp"
    del env["CASEAPP_MIGRATION_DATABASE_URL"]
    assert from_env(env).migration_database_url == ""
