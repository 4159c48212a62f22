"""Where a person lives and where they were seen, and the reports by layer: a municipality's
figures per 地区 and 小地域, and the prefecture's counts with small cells withheld."""

import pytest

from caseapp.services.community import areas
from caseapp.services.core.actors import SYSTEM
from tests.api.towns import nakatosa_staff, send
from tests.helpers import EXAMPLE

MONTH = {"from": "2026-11", "to": "2026-11"}
AT = "2026-11-20T10:00:00+09:00"


@pytest.fixture
def nakatosa(seeded):
    made = nakatosa_staff(seeded)
    # A 小地域 with a key of its own: the longest key wins over its 地区's.
    areas.import_csv(seeded, SYSTEM, "level,code,name,parent,address_keys\n"
                     "small_area,394017-S303,大野見 第3区,394017-D3,大野見吉野\n")
    return made


def consult(api, token, name, address, **extra):
    made = send(api, token, "POST", "/api/v1/consultations", {
        "client": {"name": name, "address": address}, "channel": "window",
        "received_at": AT, "summary": "話を聞いてほしい", **extra})
    assert made.status_code == 201, made.json
    return made.json


def test_an_address_resolves_to_its_area_or_stays_unresolved(api, nakatosa):
    token = nakatosa["counter"]
    kure = consult(api, token, "久保 一郎", "高岡郡中土佐町久礼6000")
    yoshino = consult(api, token, "吉野 ハナ", "中土佐町大野見吉野15")
    nowhere = consult(api, token, "遠山 次郎", "中土佐町 番地不明")
    read = {c["client_id"]: send(api, token, "GET", f"/api/v1/clients/{c['client_id']}").json
            for c in (kure, yoshino, nowhere)}
    assert read[kure["client_id"]]["area"]["code"] == "394017-D2"
    assert read[yoshino["client_id"]]["area"]["code"] == "394017-S303"
    assert read[nowhere["client_id"]]["area"] is None
    assert read[nowhere["client_id"]]["area_unresolved"] is True
    # A move is resolved again.
    moved = send(api, token, "PATCH", f"/api/v1/clients/{nowhere['client_id']}",
                 {"address": "中土佐町上ノ加江2"})
    assert moved.status_code == 200, moved.json
    assert moved.json["area"]["code"] == "394017-D1" and moved.json["area_unresolved"] is False


def test_a_tie_between_two_areas_is_not_guessed(api, nakatosa):
    # Both 地区 hold an address key of the same length found in this address.
    consulted = consult(api, nakatosa["counter"], "境 三郎", "中土佐町矢井賀・大野見の境")
    client = send(api, nakatosa["counter"], "GET",
                  f"/api/v1/clients/{consulted['client_id']}").json
    assert client["area"] is None and client["area_unresolved"] is True


def test_a_consultation_records_where_the_person_was_seen(api, nakatosa):
    token = nakatosa["counter"]
    at_center = consult(api, token, "久保 一郎", "中土佐町久礼6000", site="center",
                        site_area="394017-D2")
    assert at_center["site"] == "center"
    assert at_center["site_area"]["hub"] == "あったかふれあいセンターまんまる"
    assert consult(api, token, "吉野 ハナ", "中土佐町大野見吉野15")["site"] == "counter"
    # 南国市's areas are not Nakatosa's to name.
    refused = send(api, token, "POST", "/api/v1/consultations", {
        "channel": "visit", "site": "outreach", "site_area": "392049"})
    assert refused.status_code == 422 and "site_area" in refused.json["errors"]


def test_the_municipality_report_counts_per_district_and_small_area(api, nakatosa):
    token = nakatosa["counter"]
    consult(api, token, "久保 一郎", "中土佐町久礼6000")
    consult(api, token, "吉野 ハナ", "中土佐町大野見吉野15")
    consult(api, token, "遠山 次郎", "中土佐町 番地不明")
    report = send(api, nakatosa["supervisor"], "GET", "/api/v1/reports/areas", query=MONTH)
    assert report.status_code == 200, report.json
    districts = {r["name"]: r["consultations"] for r in report.json["by_district"]}
    assert districts == {"久礼地域": 1, "大野見地域": 1, "未判定": 1}
    small = {r["code"]: r["consultations"] for r in report.json["by_small_area"]}
    assert small == {"394017-S303": 1, None: 1}
    assert send(api, token, "GET", "/api/v1/reports/areas").status_code == 403  # counter


def test_the_prefecture_report_adds_up_and_withholds_small_cells(app, api, tokens, seeded,
                                                                nakatosa):
    for n in range(6):
        made = send(api, tokens["counter"], "POST", "/api/v1/consultations",
                    {**EXAMPLE, "client": {"name": f"南国 {n}"}, "received_at": AT})
        assert made.status_code == 201, made.json
    for n in range(2):
        consult(api, nakatosa["counter"], f"中土佐 {n}", "中土佐町久礼1")
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "kenshakyo", "--role", "prefecture"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    report = send(api, token, "GET", "/api/v1/reports/prefecture", query=MONTH)
    assert report.status_code == 200, report.json
    data = report.json
    assert data["total"]["consultations"] == 8  # from the true counts
    blocks = {b["code"]: b for b in data["blocks"]}
    nankoku = blocks["390003-chuohigashi"]
    assert nankoku["consultations"] == 6
    assert nankoku["municipalities"][0]["consultations"] == 6
    susaki = blocks["390003-susaki"]
    assert susaki["consultations"] is None  # 2 < 5
    assert susaki["municipalities"][0]["consultations"] is None
    assert "中土佐 0" not in report.get_data(as_text=True)
    # Nothing personal is the prefecture's to read.
    assert send(api, token, "GET", "/api/v1/consultations").status_code == 403
    assert send(api, tokens["supervisor"], "GET", "/api/v1/reports/prefecture",
                query=MONTH).status_code == 403
