"""The prefecture council reads its page: counts per municipality and block, small cells shown
as "—" and explained, the CSV downloaded; nothing leaves 127.0.0.1."""

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.web.console import PASSWORD, make_people
from tests.web.test_prefecture_page import figures  # noqa: F401  (15 consultations, 3 towns)


@pytest.fixture
def people(seeded):
    return make_people(seeded)


def test_the_prefecture_reads_counts_with_small_cells_withheld(console_page,
                                                               figures):  # noqa: F811
    page = console_page
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill("kenshakyo")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("県域の集計")
    nav = page.get_by_role("navigation", name="メインメニュー")
    expect(nav.get_by_role("link")).to_have_count(1)
    page.get_by_label("開始月").fill("2026-11")
    page.get_by_label("終了月").fill("2026-11")
    page.get_by_role("button", name="表示する").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2026-11〜2026-11")
    assert_accessible(page)

    table = page.locator("#table-prefecture")
    nankoku = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="南国市"))
    expect(nankoku.locator("td.num")).to_have_text(["6", "6"])
    nakatosa = table.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="中土佐町"))
    expect(nakatosa.locator("td.num")).to_have_text(["—", "—"])
    # The dash says why, on the page and on the cell itself.
    expect(nakatosa.locator("abbr").first).to_have_attribute("title", "4件以下のため非表示")
    expect(page.locator("#withheld-note")).to_contain_text("1〜4件の欄は「—」と表示し")
    expect(page.locator("#prefecture-total td.num")).to_have_text(["15", "15"])

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV をダウンロード").click()
    assert download.value.suggested_filename == "caseapp-prefecture-2026-11_2026-11.csv"
