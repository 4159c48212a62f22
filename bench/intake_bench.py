"""Intake under load: caseapp's POST /consultations against the bare floor, same run.

Both are served by gunicorn (2 workers × 4 threads) on PostgreSQL; 16 client threads send
the API.md example for a fixed time. Goal: caseapp ≥ 0.25× the floor's req/s, p99 ≤ 3× the floor's.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import migrated_app, percentile, pg_database

CLIENTS = 16
BODY = {
    "client": {"name": "山田 太郎", "name_kana": "ヤマダ タロウ", "birth_date": "1952-04-01"},
    "channel": "window", "topics": ["debt", "income_living"],
    "summary": "年金だけでは返済が追いつかない", "urgency": "normal",
    "facts": {"age": 74, "household_size": 1, "monthly_income": 90000,
              "debts": [{"creditor": "A社", "principal": 800000}]},
    "consent": {"scope": "network", "method": "written", "given_at": "2026-11-27T10:00:00+09:00"},
}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int, timeout: float = 60) -> None:
    """Until a worker answers HTTP: gunicorn listens before its workers have booted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start")


SURNAMES = [("山田", "ヤマダ"), ("田中", "タナカ"), ("高橋", "タカハシ"), ("岡林", "オカバヤシ"),
            ("西村", "ニシムラ"), ("森", "モリ"), ("山﨑", "ヤマサキ"), ("浜田", "ハマダ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("美咲", "ミサキ"),
         ("健", "ケン"), ("和子", "カズコ"), ("翔", "ショウ")]


def bodies(count: int) -> list[bytes]:
    """Different residents, as a counter sees them: names, birth dates and ages vary."""
    out = []
    for n in range(count):
        (sur, sur_kana), (given, given_kana) = SURNAMES[n % 8], GIVEN[(n // 8) % 7]
        year = 1940 + n % 60
        client = {"name": f"{sur} {given}", "name_kana": f"{sur_kana} {given_kana}",
                  "birth_date": f"{year}-{1 + n % 12:02d}-{1 + n % 28:02d}"}
        body = {**BODY, "client": client, "facts": {**BODY["facts"], "age": 2026 - year}}
        out.append(json.dumps(body, ensure_ascii=False).encode())
    return out


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its live descendants (the gunicorn workers), from
    /proc; the database server's share is not in it."""
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, changed = {root}, True
    while changed:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        changed, tree = bool(more), tree | more
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def load(port: int, path: str, headers: dict, seconds: float) -> dict:
    """CLIENTS threads on keep-alive connections; latencies of the 2xx answers."""
    payloads = bodies(997)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad, n = [], 0, threading.get_ident()
        while time.monotonic() < stop:
            n += 1
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=payloads[n % len(payloads)],
                             headers={"Content-Type": "application/json", **headers})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if 200 <= response.status < 300:
                mine.append(time.perf_counter() - start)
            else:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if not latencies:
        raise RuntimeError(f"no successful request to {path} ({errors[0]} errors)")
    return {"rps": round(len(latencies) / elapsed, 1), "requests": len(latencies) + errors[0],
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "errors": errors[0]}


def run(quick: bool) -> dict:
    seconds = 8 if quick else 30
    from caseapp.extensions import db
    from caseapp.services.core import auth
    from caseapp.services.network.seed import seed_nankoku

    with pg_database() as url, tempfile.TemporaryDirectory() as tmp:
        app = migrated_app(url, Path(tmp))
        with app.app_context():
            seed_nankoku(db.session)
            _user, token = auth.create_user(db.session, "bench", "counter")
            db.session.remove()
            db.engine.dispose()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench",
               "CASEAPP_INSTANCE_PATH": tmp, "CELERY_BROKER_URL": "memory://",
               "CASEAPP_RATELIMIT": "1000000 per minute"}
        results = {}
        for name, command, path, headers in (
            ("floor", [sys.executable, "-m", "gunicorn", "bench.floor_app:app", "-w", "2",
                       "--threads", "4"], "/floor", {}),
            ("caseapp", [sys.executable, "-m", "caseapp.cli", "api", "--workers", "2",
                         "--threads", "4"], "/api/v1/consultations",
             {"Authorization": f"Bearer {token}"}),
        ):
            port = _port()
            bind = ["-b", f"127.0.0.1:{port}"] if name == "floor" else ["--port", str(port)]
            server = subprocess.Popen([*command, *bind], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            try:
                _wait(port)
                load(port, path, headers, 1.5)  # warm up both the same way
                cpu = cpu_seconds(server.pid)
                results[name] = load(port, path, headers, seconds)
                # CPU per request holds still when other jobs share the cores; req/s does not.
                results[name]["server_cpu_ms"] = round(
                    (cpu_seconds(server.pid) - cpu) * 1000 / results[name]["requests"], 2)
            finally:
                server.terminate()
                server.wait(timeout=30)
    floor, caseapp = results["floor"], results["caseapp"]
    return {"floor": floor, "caseapp": caseapp,
            "ratio": round(caseapp["rps"] / floor["rps"], 3) if floor["rps"] else None}


if __name__ == "__main__":
    result = run("--quick" in sys.argv)
    print(json.dumps(result, ensure_ascii=False))
