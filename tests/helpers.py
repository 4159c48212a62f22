"""Request bodies and assertions shared by the API tests."""

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


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll until predicate() is truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, f"condition not met within {timeout}s"
    return value
