"""A Hidaka district ready for its evening, for the page tests (route and browser): the
coordinator, two members of the district and one of the next, each with a console password;
three watched people and two plan items."""

from caseapp.services.community import areas
from caseapp.services.core import auth, signin
from tests.community.conftest import (
    DISTRICT,
    NEXT_DISTRICT,
    make_member,
    new_client,
    staff_to_hidaka,
)
from tests.web.console import PASSWORD

COORDINATOR = "yamamoto"
WATCHED = (
    # name, address, scope: 片岡さん is for the 民生委員 only, so a sheet for a table with the
    # 福祉委員 leaves her out.
    ("山崎 ハル", "日高村本郷1-2", ["minsei", "fukushi"]),
    ("岡林 トメ", "日高村本郷3-4", ["minsei", "fukushi"]),
    ("片岡 ミツ", "日高村本郷5-6", ["minsei"]),
)


def login_of(session, member_id: int) -> str:
    from caseapp.models import Member

    return session.get(Member, member_id).user.name


def set_up(api, session) -> dict:
    staff_to_hidaka(session)
    auth.create_user(session, COORDINATOR, "counter",
                     municipality_id=areas.municipality(session, "hidaka").id)
    signin.set_password(session, COORDINATOR, PASSWORD)
    people = {}
    for key, name, role, area in (("minsei", "高橋 民子", "minsei", DISTRICT),
                                  ("fukushi", "西村 福子", "fukushi", DISTRICT),
                                  ("neighbour", "岡田 隣", "minsei", NEXT_DISTRICT)):
        member_id, _token = make_member(session, name, role, area)
        login = login_of(session, member_id)
        signin.set_password(session, login, PASSWORD)
        people[key] = {"id": member_id, "login": login, "name": name}
    watched = []
    for name, address, scope in WATCHED:
        made = api.post("/api/v1/watch", json={
            "client_id": new_client(api, name, address), "area": DISTRICT,
            "watch_for": "一人暮らし。雨戸が閉まったままなら声かけ",
            "basis": {"kind": "consent", "scope": scope, "method": "written",
                      "given_at": "2026-10-01T10:00:00+09:00"},
            "watchers": [people["minsei"]["id"]]})
        assert made.status_code == 201, made.json
        watched.append(made.json)
    items = []
    for title in ("ふれあいサロンの開催", "防災マップの更新"):
        made = api.post(f"/api/v1/areas/{DISTRICT}/plan/items",
                        json={"title": title, "target": "年度内", "owner": "福祉委員会"})
        assert made.status_code == 201, made.json
        items.append(made.json["id"])
    return {"people": people, "watched": watched, "items": items}
