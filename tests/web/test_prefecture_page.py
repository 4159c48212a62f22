"""/prefecture: the prefecture council's page — counts per municipality and block with small
cells withheld as "—" and explained, the same figures as the API, and a CSV; the prefecture
user sees only this page, and nobody else sees it."""

import csv
import io

import pytest
from sqlalchemy import select

from caseapp.models import Area
from caseapp.services.community import areas
from caseapp.services.core import auth, signin
from caseapp.services.network import seed
from tests.helpers import EXAMPLE
from tests.web.console import PASSWORD

AT = "2026-11-20T10:00:00+09:00"
MONTH = {"from": "2026-11", "to": "2026-11"}


@pytest.fixture
def figures(app, seeded, people):
    """Six consultations in 南国市, two in 中土佐町, seven in 日高村, and a prefecture user."""
    for name in ("nakatosa", "hidaka"):
        seed.seed_network(seeded, name)
    tokens = {}
    for name in ("nankoku", "nakatosa", "hidaka"):
        town = areas.municipality(seeded, name).id
        tokens[name] = auth.create_user(seeded, f"{name}-c", "counter", municipality_id=town)[1]
    client = app.test_client()
    for town, count in (("nankoku", 6), ("nakatosa", 2), ("hidaka", 7)):
        for _ in range(count):
            made = client.post("/api/v1/consultations", json={
                **{k: v for k, v in EXAMPLE.items() if k not in ("client", "consent")},
                "received_at": AT}, headers={"Authorization": f"Bearer {tokens[town]}"})
            assert made.status_code == 201, made.json
    prefecture = seeded.scalar(select(Area.id).where(Area.code == "390003"))
    _user, token = auth.create_user(seeded, "kenshakyo", "prefecture",
                                    municipality_id=prefecture)
    signin.set_password(seeded, "kenshakyo", PASSWORD)
    return token


def _rows(html: str) -> dict[str, list[str]]:
    """Each row of the report table by its area code: the two counts as shown."""
    import re

    table = html.split('id="table-prefecture"')[1].split("</table>")[0]
    rows = {}
    for code, row in re.findall(r'data-code="([^"]+)">(.*?)</tr>', table, re.S):
        rows[code] = [re.sub(r"<[^>]+>", "", cell).strip()
                      for cell in re.findall(r'<td class="num">(.*?)</td>', row, re.S)]
    return rows


def test_the_prefecture_user_lands_on_the_report_with_small_cells_withheld(console, figures,
                                                                          app):
    console.sign_in("kenshakyo")
    home = console.get("/")
    assert home.status_code == 302 and home.location.endswith("/prefecture")
    page = console.get("/prefecture", query_string=MONTH)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = _rows(html)
    assert rows["392049"] == ["6", "6"]  # 南国市
    assert rows["394017"] == ["—", "—"]  # 中土佐町: 2
    assert rows["394106"] == ["7", "7"]  # 日高村
    assert rows["390003-susaki"] == ["—", "—"]
    assert "1〜4件の欄は「—」と表示し" in html.split('id="withheld-note"')[1]
    total = html.split('id="prefecture-total"')[1].split("</tr>")[0]
    assert "15" in total  # the true counts add up
    # The same figures as the API.
    api = app.test_client().get("/api/v1/reports/prefecture", query_string=MONTH,
                                headers={"Authorization": f"Bearer {figures}"}).json
    assert api["total"]["consultations"] == 15
    # Its menu is this page alone.
    nav = html.split('class="site-nav"')[1].split("</nav>")[0]
    assert "県域の集計" in nav and "ホーム" not in nav and "相談受付" not in nav


def test_the_csv_has_a_row_per_municipality_block_and_total(console, figures):
    console.sign_in("kenshakyo")
    answer = console.get("/prefecture.csv", query_string=MONTH)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "caseapp-prefecture-2026-11_2026-11.csv" in answer.headers["Content-Disposition"]
    text = answer.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["ブロック", "市町村コード", "市町村", "相談件数", "新規ケース"]
    by_town = {r[1]: r[3:] for r in rows[1:] if r[1]}
    assert by_town == {"392049": ["6", "6"], "394017": ["—", "—"], "394106": ["7", "7"]}
    assert rows[-1] == ["", "", "合計", "15", "15"]


def test_a_bad_month_is_422_beside_the_field(console, figures):
    console.sign_in("kenshakyo")
    answer = console.get("/prefecture", query_string={"from": "2026-13"})
    assert answer.status_code == 422
    assert "field-error" in answer.get_data(as_text=True)


def test_only_the_prefecture_role_opens_it_and_it_opens_nothing_else(console, figures):
    console.sign_in("kenshakyo")
    for path in ("/consultations/new", "/referrals", "/reports/monthly", "/admin/users"):
        assert console.get(path).status_code == 403, path
    signed_out = console.post("/logout", token_from="/prefecture")
    assert signed_out.status_code in (302, 303)
    console.sign_in("sato")  # a supervisor
    assert console.get("/prefecture").status_code == 403
    assert console.get("/prefecture.csv").status_code == 403
    assert "県域の集計" not in console.get("/").get_data(as_text=True)
