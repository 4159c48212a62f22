"""A supervisor reads the month from the charts: numbers as text, equal to the API's report."""

import re

import pytest
from playwright.sync_api import expect

from tests.api.test_reports import dataset  # noqa: F401  (the hand-counted data set)
from tests.browser.axe import assert_accessible
from tests.web.console import PASSWORD, make_people


@pytest.fixture
def people(seeded):
    return make_people(seeded)


def _cells(page, table_id: str) -> list[list[str]]:
    return page.locator(f"#{table_id} tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))")


def test_a_supervisor_reads_the_month_from_the_charts(console_page, people, api, tokens,
                                                      dataset):  # noqa: F811
    data = api.as_(tokens["supervisor"]).get(
        "/api/v1/reports/monthly?from=2026-10&to=2026-11").json
    page = console_page
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill("sato")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.get_by_role("link", name="統計").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("月次統計")
    page.get_by_label("開始月").fill("2026-10")
    page.get_by_label("終了月").fill("2026-11")
    page.get_by_role("button", name="表示する").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2026-10〜2026-11")
    assert_accessible(page)

    # Each chart is an image named by its title, its numbers in words in its description.
    month_chart = page.get_by_role("img", name="月別の相談件数")
    expect(month_chart).to_be_visible()
    desc = page.locator("#chart-month-desc").text_content()
    for month in data["by_month"]:
        assert f"{month['month']}: 相談件数 {month['consultations']}件" in desc
    topic_desc = page.locator("#chart-topic-desc").text_content()
    for row in data["by_topic"]:
        assert f"{row['label']}: {row['count']}件" in topic_desc
    # The bars print in black and white: patterns, not colours, fill them.
    fills = page.locator("svg.chart rect[stroke]").evaluate_all(
        "rects => rects.map(r => r.getAttribute('fill'))")
    assert fills and all(re.fullmatch(r"url\(#chart-[a-z0-9]+-(hatch|dots|solid)\)", f)
                         for f in fills)

    # The tables under the charts hold the same numbers as the API.
    assert [[r[0], int(r[1]), int(r[2])] for r in _cells(page, "table-by-month")] == [
        [m["month"], m["consultations"], m["anonymous"]] for m in data["by_month"]]
    assert [[r[0], int(r[1])] for r in _cells(page, "table-by-topic")] == [
        [t["label"], t["count"]] for t in data["by_topic"]]
    assert [int(r[1]) for r in _cells(page, "table-by-channel")] == [
        c["count"] for c in data["by_channel"]]
    funnel = _cells(page, "table-funnel")
    assert [int(r[1]) for r in funnel] == [data["funnel"]["counts"][s] for s in
                                           ("requested", "received", "accepted", "completed")]
    expect(page.locator("#figure-fallback")).to_have_text(
        f"{data['fallback_only']['consultations']} 件（40.0%）")

    # Printing leaves out the menus and the buttons, and keeps the charts.
    page.emulate_media(media="print")
    expect(page.get_by_role("banner")).to_be_hidden()
    expect(page.get_by_role("button", name="印刷する")).to_be_hidden()
    expect(month_chart).to_be_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.get_by_text("CSV をダウンロード").click()
        page.get_by_role("link", name="相談内容別（CSV）").click()
    assert download.value.suggested_filename == "caseapp-by_topic-2026-10_2026-11.csv"
