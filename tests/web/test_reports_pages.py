"""The monthly report page: the API's figures as charts with their numbers, CSV and the funnel."""

import re
from html import unescape

from caseapp.services.reports import monthly
from tests.api.test_reports import dataset  # noqa: F401  (the hand-counted data set)

PERIOD = "from=2026-10&to=2026-11"


def _api_report(api, tokens) -> dict:
    response = api.as_(tokens["supervisor"]).get(f"/api/v1/reports/monthly?{PERIOD}")
    assert response.status_code == 200
    return response.json


def _table(page: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table class="table" id="{table_id}">(.*?)</table>', page, re.S).group(1)
    body = body.split("<tbody>", 1)[1]
    return [[unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_month_page_shows_the_apis_numbers(console, api, tokens, dataset):  # noqa: F811
    data = _api_report(api, tokens)
    console.sign_in("sato")
    response = console.get(f"/reports/monthly?{PERIOD}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert [[row[0], int(row[1]), int(row[2])] for row in _table(page, "table-by-month")] == [
        [m["month"], m["consultations"], m["anonymous"]] for m in data["by_month"]]
    assert [row[6] for row in _table(page, "table-by-month")] == [
        str(m["new_cases_per_100k"]) for m in data["by_month"]]
    assert [[row[0], int(row[1])] for row in _table(page, "table-by-topic")] == [
        [t["label"], t["count"]] for t in data["by_topic"]]
    assert [int(row[1]) for row in _table(page, "table-by-channel")] == [
        c["count"] for c in data["by_channel"]]
    assert [row[0] for row in _table(page, "table-by-channel")] == ["電話", "窓口", "相談会"]
    # Each chart says its numbers in words too.
    desc = re.search(r'<desc id="chart-topic-desc">(.*?)</desc>', page).group(1)
    assert "債務について: 2件" in desc and "その他: 1件" in desc
    assert 'role="img"' in page and 'aria-labelledby="chart-month-title chart-month-desc"' in page
    # 断らない accounting and the population behind the per-100,000 figures.
    assert "2 件（40.0%）" in page and "46,000 人" in page


def test_the_funnel_follows_the_supervisors_steps_with_medians(console, session, dataset):  # noqa: F811
    period = monthly.Period.months("2026-10", "2026-11")
    assert monthly.referral_funnel(session, period) == {
        "counts": {"requested": 4, "received": 3, "accepted": 1, "completed": 1},
        # requested → received is its own median (3, 3, 5 days), not a sum of two medians.
        "median_days": {"requested_to_received": 3.0, "received_to_accepted": 3.0,
                        "accepted_to_completed": 10.0}}
    console.sign_in("sato")
    page = console.get(f"/reports/monthly?{PERIOD}").get_data(as_text=True)
    assert _table(page, "table-funnel") == [["依頼", "4", "—"], ["受領", "3", "3 日"],
                                            ["受理", "1", "3 日"], ["完了", "1", "10 日"]]


def test_the_pages_csv_is_the_apis_csv(console, api, tokens, dataset):  # noqa: F811
    console.sign_in("sato")
    for table in ("by_month", "by_topic", "referrals_by_partner"):
        page_csv = console.get(f"/reports/monthly.csv?{PERIOD}&table={table}")
        api_csv = api.as_(tokens["supervisor"]).get(
            f"/api/v1/reports/monthly?{PERIOD}&format=csv&table={table}")
        assert page_csv.mimetype == "text/csv"
        assert page_csv.get_data() == api_csv.get_data()
        assert page_csv.headers["Content-Disposition"] == api_csv.headers["Content-Disposition"]


def test_a_bad_month_is_refused_beside_the_field(console, seeded):
    console.sign_in("sato")
    response = console.get("/reports/monthly?from=2026-13&to=2026-11")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "YYYY-MM の形で指定してください" in page and 'id="period-from-error"' in page
    response = console.get("/reports/monthly?from=2026-11&to=2026-10")
    assert response.status_code == 422
    assert "from は to 以前の月にしてください" in response.get_data(as_text=True)
    response = console.get("/reports/monthly.csv?table=passwords")
    assert response.status_code == 422
    assert "次のいずれかを指定してください" in response.get_data(as_text=True)


def test_only_supervisors_see_and_open_the_report(console, seeded):
    console.sign_in("suzuki")
    assert console.get("/reports/monthly").status_code == 403
    assert "統計" not in console.get("/events/").get_data(as_text=True)
    console.sign_out()
    console.sign_in("sato")
    page = console.get("/reports/monthly").get_data(as_text=True)
    assert '<a href="/reports/monthly" aria-current="page">統計</a>' in page
    assert "月次統計" in page
