"""Logs are JSON lines with request id, user, route, status and duration — and nothing
personal: a representative flow runs with logging captured, and the names and numbers it
created appear in no line. (Every run's logs are scanned as a whole too: tests/logscan.py.)"""

import io
import json
import logging

import pytest

from caseapp.services.ops import logs
from tests.services.delivery.helpers import CONSENT, hook, run_due

PERSON = {"name": "吉良 七海", "name_kana": "キラ ナナミ", "birth_date": "1961-07-08",
          "phone": "090-1357-2468", "address": "高知県南国市後免町三丁目9-9",
          "postal_code": "783-0085"}
# Whole values only: a four-digit fragment also turns up inside random request ids.
PERSONAL = ("吉良", "七海", "キラ", "ナナミ", "1961-07-08", "09013572468", "090-1357-2468",
            "後免町", "783-0085", "借金取り", "眠れない")


@pytest.fixture
def captured():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("INFO", stream)
    logging.getLogger("caseapp").setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("caseapp").setLevel(logging.NOTSET)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_full_flow_logs_json_lines_without_any_personal_data(
        app, api, tokens, session, captured):
    config = app.config["CASEAPP"]
    hook(session, "houterasu", "https://houterasu.example/hook")
    made = api.post("/api/v1/consultations", json={
        "client": PERSON, "channel": "window", "topics": ["debt"],
        "summary": "借金取りが来て眠れない", "consent": CONSENT},
        headers={"X-Request-ID": "req-from-proxy-0001"})
    assert made.status_code == 201, made.json
    assert made.headers["X-Request-ID"] == "req-from-proxy-0001"
    client_id = made.json["client_id"]
    assert api.get("/api/v1/clients", query_string={"q": "吉良 ななみ"}).status_code == 200
    assert api.get("/api/v1/clients", query_string={"q": "090-1357-2468"}).status_code == 200
    assert api.get(f"/api/v1/clients/{client_id}").status_code == 200
    assert api.patch(f"/api/v1/clients/{client_id}",
                     json={"address": "高知県南国市後免町三丁目9-10"}).status_code == 200
    # Bad input quoting the person, and a refused and an unauthenticated call.
    assert api.post("/api/v1/consultations", json={
        "client": {**PERSON, "birth_date": "吉良の誕生日"}, "channel": "window"}
    ).status_code == 422
    assert api.as_(tokens["partner:houkatsu"]).get(f"/api/v1/clients/{client_id}"
                                                   ).status_code == 403
    assert api.as_("nonsense").get("/api/v1/clients", query_string={"q": "吉良"}
                                   ).status_code == 401
    supervisor = api.as_(tokens["supervisor"])
    assert supervisor.get(f"/api/v1/clients/{client_id}/export").status_code == 200
    assert supervisor.get(f"/api/v1/clients/{client_id}/export.pdf").status_code == 200
    run_due(session, config)
    assert supervisor.post(f"/api/v1/clients/{client_id}/stop-use",
                           json={"reason": "吉良七海さん本人の申出"}).status_code == 200
    logging.getLogger("caseapp.test").info("日本語はそのまま")

    text = captured.getvalue()
    found = lines(captured)  # every line is one JSON object
    assert len(found) >= 10
    for secret in PERSONAL:
        assert secret not in text, secret
        assert json.dumps(secret)[1:-1] not in text, secret  # nor \\u-escaped
    assert "日本語はそのまま" in text
    requests = [line for line in found if line.get("message") == "request"]
    assert len(requests) >= 10
    for line in requests:
        assert {"request_id", "user_id", "route", "method", "status", "duration_ms",
                "time", "level"} <= line.keys()
        assert "?" not in line["route"]
    intake = next(line for line in requests if line["request_id"] == "req-from-proxy-0001")
    assert intake["route"] == "/api/v1/consultations" and intake["status"] == 201
    assert intake["user_id"] is not None
    assert {"/api/v1/clients/<int:client_id>", "/api/v1/clients/<int:client_id>/export"} <= {
        line["route"] for line in requests}
    assert {401, 403, 422} <= {line["status"] for line in requests}


def test_an_exception_is_logged_without_its_message(captured):
    quoted = " ".join(PERSONAL[:2] + PERSONAL[5:6])
    try:
        raise ValueError(quoted)
    except ValueError:
        logging.getLogger("caseapp.test").exception("something failed")
    text = captured.getvalue()
    assert "ValueError (message withheld)" in text
    assert "吉良" not in text and "09013572468" not in text
