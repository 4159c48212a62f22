"""Staff who work at a 地区's あったかふれあいセンター see that 地区's cases first, on ホーム and in
the API's case list; everyone else's order is unchanged. The home area is set by the admin
page or `caseapp users create --area`."""

from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from caseapp.models import User
from caseapp.rules.calendar import TOKYO
from caseapp.services.community import areas
from caseapp.services.core import auth, signin
from caseapp.services.network import seed
from tests.web.console import PASSWORD

MADE_AT = datetime(2026, 11, 20, 10, 0, tzinfo=TOKYO)
LOOKED_AT = datetime(2026, 12, 10, 10, 0, tzinfo=TOKYO)
# Received on successive days, so without a home area the 久礼 person's case comes last.
PEOPLE = [("大野 見一", "中土佐町大野見1", "2026-11-16"),
          ("上野 加江", "中土佐町上ノ加江2", "2026-11-17"),
          ("久礼 港子", "中土佐町久礼3", "2026-11-18")]


@pytest.fixture
def town(seeded):
    seed.seed_network(seeded, "nakatosa")
    town = areas.municipality(seeded, "nakatosa").id
    tokens = {}
    for name, role, area in (("manmaru-ueda", "counter", "394017-D2"),
                             ("desk-hamada", "counter", None),
                             ("town-admin", "admin", None)):
        tokens[name] = auth.create_user(seeded, name, role, municipality_id=town,
                                        area_code=area)[1]
        signin.set_password(seeded, name, PASSWORD)
    return tokens


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _cases(app, tokens):
    """Each worker takes the three consultations, so each owns one case per person."""
    client, ids = app.test_client(), {}
    with time_machine.travel(MADE_AT, tick=False):
        for worker in ("manmaru-ueda", "desk-hamada"):
            for name, address, day in PEOPLE:
                made = client.post("/api/v1/consultations", headers=_bearer(tokens[worker]), json={
                    "client": {"name": name, "address": address}, "channel": "window",
                    "received_at": f"{day}T10:00:00+09:00", "summary": "暮らしの相談"})
                assert made.status_code == 201, made.json
                ids[(worker, name)] = made.json["case_id"]
    return ids


def _due(console):
    text = console.get("/").get_data(as_text=True)
    due = text.split('id="queue-due"')[1].split("</ul>")[0]
    return text, [line for line in due.split("<li>")[1:]]


@pytest.mark.calendar
def test_hub_staff_see_their_districts_cases_first_others_unchanged(app, console, town):
    ids = _cases(app, town)
    with time_machine.travel(LOOKED_AT, tick=False):
        console.sign_in("manmaru-ueda")
        text, due = _due(console)
        order = [next(n for n, _a, _d in PEOPLE if n in line) for line in due]
        assert order == ["久礼 港子", "大野 見一", "上野 加江"]
        assert "久礼地域" in due[0] and "久礼地域" not in due[1]
        assert "あったかふれあいセンターまんまる" in text.split('id="home-area"')[1]
        console.sign_out()
        console.sign_in("desk-hamada")
        text, due = _due(console)
        assert [next(n for n, _a, _d in PEOPLE if n in line) for line in due] == [
            n for n, _a, _d in PEOPLE]
        assert 'id="home-area"' not in text
        assert f'href="/cases/{ids[("desk-hamada", "久礼 港子")]}"' in due[2]


@pytest.mark.calendar
def test_the_api_case_list_puts_the_hub_workers_district_first(app, town):
    ids = _cases(app, town)
    client = app.test_client()
    kure = {ids[(w, "久礼 港子")] for w in ("manmaru-ueda", "desk-hamada")}
    with time_machine.travel(LOOKED_AT, tick=False):
        hub = client.get("/api/v1/cases?status=open", headers=_bearer(town["manmaru-ueda"])).json
        desk = client.get("/api/v1/cases?status=open", headers=_bearer(town["desk-hamada"])).json
    by_next_action = [ids[(w, n)] for n, _a, _d in PEOPLE for w in ("manmaru-ueda", "desk-hamada")]
    assert [c["id"] for c in desk["items"]] == by_next_action
    assert {c["id"] for c in hub["items"][:2]} == kure
    assert [c["id"] for c in hub["items"][2:]] == [i for i in by_next_action if i not in kure]


def test_an_admin_sets_a_users_district_and_another_towns_is_refused(console, town, session):
    console.sign_in("town-admin")
    page = console.get("/admin/users").get_data(as_text=True)
    assert "あったかふれあいセンターほのぼの大野見" in page and "南国市" not in page.split(
        'id="new-area"')[1].split("</select>")[0]
    made = console.post("/admin/users", {"name": "honobono-oka", "role": "counter",
                                         "area": "394017-D3", "password": PASSWORD + "x"},
                        token_from="/admin/users")
    assert made.status_code == 303, made.get_data(as_text=True)
    user = session.scalar(select(User).where(User.name == "honobono-oka"))
    assert user.area.code == "394017-D3"
    assert "大野見地域" in console.get("/admin/users").get_data(as_text=True)
    refused = console.post("/admin/users", {"name": "stray", "role": "counter",
                                            "area": "394106-D00", "password": PASSWORD + "x"},
                           token_from="/admin/users")
    assert refused.status_code == 422
    assert "この市町村の地区・小地域のコードではありません" in refused.get_data(as_text=True)


def test_users_create_takes_an_area_code(app, town, session):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "yoriya-mori", "--role", "counter",
                               "--municipality", "nakatosa", "--area", "394017-D1"])
    assert made.exit_code == 0, made.output
    assert session.scalar(select(User).where(User.name == "yoriya-mori")).area.code == "394017-D1"
    refused = runner.invoke(args=["users", "create", "nowhere", "--role", "counter",
                                  "--municipality", "nakatosa", "--area", "392049"])
    assert refused.exit_code != 0 and "地区・小地域" in refused.output


def test_an_admin_changes_and_clears_a_users_district(console, town, session):
    console.sign_in("town-admin")
    desk = session.scalar(select(User).where(User.name == "desk-hamada"))
    path = f"/admin/users/{desk.id}/area"
    assert console.post(path, {"area": "394017-D1"}, token_from="/admin/users").status_code == 303
    session.refresh(desk)
    assert desk.area.code == "394017-D1"
    refused = console.post(path, {"area": "392049"}, token_from="/admin/users")
    assert refused.status_code == 422
    assert f'id="area-{desk.id}-error"' in refused.get_data(as_text=True)
    session.refresh(desk)
    assert desk.area.code == "394017-D1"
    assert console.post(path, {"area": ""}, token_from="/admin/users").status_code == 303
    session.refresh(desk)
    assert desk.area is None
