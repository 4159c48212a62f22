"""Every time in an answer is the counter's (Asia/Tokyo, +09:00), whatever the database stores."""

import re
from datetime import datetime

from caseapp.jp.wareki import format_wareki
from caseapp.models import Referral
from caseapp.services.referrals import ack_links
from tests.api.test_openapi_access import fill, operations, send, world  # noqa: F401
from tests.helpers import EXAMPLE

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?")


def timestamps(value) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in timestamps(v)]
    if isinstance(value, list):
        return [t for v in value for t in timestamps(v)]
    if isinstance(value, str):
        return [m.group(0) for m in TIMESTAMP.finditer(value)]
    return []


def not_tokyo(found: list[str]) -> list[str]:
    return [t for t in found if not t.endswith("+09:00")]


def test_an_evening_consultation_comes_back_at_the_time_it_was_given(api):
    made = api.post("/api/v1/consultations",
                    json={**EXAMPLE, "received_at": "2026-11-27T18:00:00+09:00"})
    assert made.status_code == 201
    assert made.json["received_at"] == "2026-11-27T18:00:00+09:00"
    shown = api.get(f"/api/v1/consultations/{made.json['id']}").json
    assert shown["received_at"] == "2026-11-27T18:00:00+09:00"


def test_every_get_operation_answers_in_tokyo_time(app, api, tokens, world):  # noqa: F811
    checked, wrong = 0, {}
    for method, path, _permission in operations(app):
        if method != "GET" or path.startswith("/api/v1/ack/"):
            continue
        caller = api.as_(tokens["partner:houkatsu"] if path.startswith("/api/v1/partner/")
                         else tokens["admin"])
        response = send(caller, "GET", fill(path, world))
        if response.status_code != 200 or not response.is_json:
            continue
        found = timestamps(response.json)
        checked += len(found)
        if not_tokyo(found):
            wrong[path] = not_tokyo(found)
    assert wrong == {}
    assert checked >= 20


def test_the_partners_acknowledgement_page_shows_tokyo_time(app, api, anon, session, world):  # noqa: F811
    referral = session.get(Referral, world["referral_id"])
    path = ack_links.make_ack_link(referral, app.config["CASEAPP"]).removeprefix(
        "http://caseapp.test")
    answer = anon.get(path).json
    assert answer["expires_at"].endswith("+09:00")
    page = anon.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    expires = datetime.fromisoformat(answer["expires_at"])
    wall_clock = f"{format_wareki(expires.date())} {expires:%H:%M}"  # 和暦, as staff read dates
    assert f"有効期限: {wall_clock}（日本時間）" in page


def test_time_in_a_conflict_problem_is_tokyo_time(api, session):
    client_id = api.post("/api/v1/consultations", json=EXAMPLE).json["client_id"]
    consent_id = api.get(f"/api/v1/clients/{client_id}").json["consents"][0]["id"]
    assert api.post(f"/api/v1/consents/{consent_id}/withdraw").status_code == 200
    again = api.post(f"/api/v1/consents/{consent_id}/withdraw")
    assert again.status_code == 409
    assert again.json["withdrawn_at"].endswith("+09:00")


def test_every_schema_takes_its_date_times_from_the_shared_field(app):
    from marshmallow import class_registry, fields

    from caseapp.api.schemas.common import AwareDateTime

    offenders = []
    for name, classes in class_registry._registry.items():
        for schema_class in classes:
            if "." in name or not schema_class.__module__.startswith("caseapp."):
                continue
            for field_name, field in schema_class._declared_fields.items():
                if isinstance(field, fields.DateTime) and not isinstance(field, AwareDateTime):
                    offenders.append(f"{schema_class.__module__}.{name}.{field_name}")
    assert offenders == []
