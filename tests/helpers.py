"""Request bodies, assertions and waiting shared by the tests."""

import socket
import time

EXAMPLE = {
    "client": {"name": "山田 太郎", "name_kana": "ヤマダ タロウ", "birth_date": "1952-04-01"},
    "channel": "window",
    "topics": ["debt", "income_living"],
    "summary": "年金だけでは返済が追いつかない",
    "urgency": "normal",
    "facts": {"age": 74, "household_size": 1, "monthly_income": 90000,
              "debts": [{"creditor": "A社", "principal": 800000}]},
    "consent": {"scope": "network", "method": "written", "given_at": "2026-11-27T10:00:00+09:00"},
}


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def wait_for(predicate, timeout: float = 30.0, message=None, interval: float = 0.1):
    """Poll until predicate() is truthy and return its value; fail after `timeout` seconds.

    `message` says what was awaited; a callable is called only on failure, so it can describe
    the state the test gave up in.
    """
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    if not value:
        said = message() if callable(message) else message
        raise AssertionError(f"not within {timeout}s: {said or 'condition not met'}")
    return value


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
