"""Rules that read where the person lives: 中土佐町's set suggests the あったかふれあいセンター
of the person's 地区, named in the reason; an address no area key places suggests none."""

import copy

import pytest

from caseapp.services.community import areas
from caseapp.services.core import auth
from caseapp.services.core.actors import SYSTEM
from caseapp.services.network import seed

AT = "2026-11-20T10:00:00+09:00"
CENTERS = {"nakatosa_manmaru", "nakatosa_yoriya", "nakatosa_honobono"}


def send(api, token, method, path, body=None):
    return api.client.open(path, method=method, json=body,
                           headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def nakatosa(seeded):
    seed.seed_network(seeded, "nakatosa")
    town = areas.municipality(seeded, "nakatosa").id
    made = {role: auth.create_user(seeded, f"nakatosa-{role}", role, municipality_id=town)[1]
            for role in ("counter", "admin")}
    areas.import_csv(seeded, SYSTEM, "level,code,name,parent,address_keys\n"
                     "small_area,394017-S303,大野見 第3区,394017-D3,大野見吉野\n")
    return made


def routing(api, token, address):
    made = send(api, token, "POST", "/api/v1/consultations", {
        "client": {"name": "中土 太郎", "address": address}, "channel": "window",
        "received_at": AT, "summary": "暮らしのこと"})
    assert made.status_code == 201, made.json
    return {d["partner"]: d for d in made.json["routing"]["decisions"]}


@pytest.mark.parametrize(("address", "center", "district"), [
    ("高岡郡中土佐町久礼6000", "nakatosa_manmaru", "久礼地域"),
    ("中土佐町上ノ加江2", "nakatosa_yoriya", "上ノ加江・矢井賀地域"),
    ("中土佐町矢井賀1", "nakatosa_yoriya", "上ノ加江・矢井賀地域"),
    ("中土佐町大野見奈路3", "nakatosa_honobono", "大野見地域"),
    # A 小地域 of 大野見: the rule on the 地区 still holds.
    ("中土佐町大野見吉野15", "nakatosa_honobono", "大野見地域"),
])
def test_the_persons_district_decides_the_center_suggested(api, nakatosa, address, center,
                                                           district):
    decisions = routing(api, nakatosa["counter"], address)
    assert set(decisions) & CENTERS == {center}
    suggested = decisions[center]
    assert suggested["action"] == "suggest"
    assert suggested["reason"].startswith(f"{district}にお住まいの方です")
    assert suggested["matched"][0].startswith("district is 394017-D")
    assert district in suggested["matched"][0]
    # A suggestion waits for staff: the person is still referred to the coordinator.
    assert decisions["nakatosa_jiritsu"]["action"] == "refer"


def test_an_unresolved_address_suggests_no_center(api, nakatosa):
    for address in ("中土佐町 番地不明", "中土佐町矢井賀・大野見の境"):
        assert set(routing(api, nakatosa["counter"], address)) == {"nakatosa_jiritsu"}
    anonymous = send(api, nakatosa["counter"], "POST", "/api/v1/consultations",
                     {"channel": "phone", "received_at": AT, "summary": "匿名の相談"})
    assert {d["partner"] for d in anonymous.json["routing"]["decisions"]} == {"nakatosa_jiritsu"}


def test_the_dry_run_reads_the_area_of_an_address_or_a_stored_client(api, nakatosa):
    token = nakatosa["counter"]
    by_address = send(api, token, "POST", "/api/v1/rules/evaluate", {
        "client": {"name": "試 算子", "address": "中土佐町久礼1"}, "channel": "window"})
    assert by_address.status_code == 200, by_address.json
    assert "nakatosa_manmaru" in {d["partner"] for d in by_address.json["decisions"]}
    client = send(api, token, "POST", "/api/v1/clients",
                  {"name": "大野 見子", "address": "中土佐町大野見1"}).json
    stored = send(api, token, "POST", "/api/v1/rules/evaluate",
                  {"client_id": client["id"], "channel": "phone"})
    assert "nakatosa_honobono" in {d["partner"] for d in stored.json["decisions"]}


def test_a_rule_naming_another_towns_area_is_refused(api, nakatosa, seeded):
    seed.seed_network(seeded, "hidaka")  # its 地区 exists, but is not 中土佐町's to name
    data = copy.deepcopy(seed.ruleset_data("nakatosa"))
    kure = next(r for r in data["rules"] if r["id"] == "center_kure")
    kure["when"]["value"] = "394106-D00"  # 日高村's 地区
    refused = send(api, nakatosa["admin"], "PUT", "/api/v1/rules", data)
    assert refused.status_code == 422
    assert any("この市町村の地区にないコード" in m
               for m in refused.json["errors"]["center_kure.when.value"])
