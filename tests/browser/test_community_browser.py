"""The 小地域 in chromium: a Hidaka district's evening run by the coordinator, a member who sees
only their own district's list, and an unvisited person in the coordinator's queue."""

import re

import pytest
import time_machine
from playwright.sync_api import expect

from caseapp.services.community import queue
from tests.browser.axe import assert_accessible
from tests.community.conftest import DISTRICT
from tests.community.pages import COORDINATOR, set_up
from tests.web.console import PASSWORD


def sign_in(page, name):
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill(name)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()


@pytest.fixture
def district(api, seeded):
    return set_up(api, seeded)


def test_the_hidaka_evening_in_the_browser(console_page, district):
    page = console_page
    people, (a, b, c) = district["people"], district["watched"]
    sign_in(page, COORDINATOR)
    page.get_by_role("link", name="見守りの対応").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("見守りの対応")
    page.get_by_role("link", name="小地域の一覧").click()
    page.get_by_role("link", name=re.compile(DISTRICT)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DISTRICT)
    expect(page.get_by_role("table")).to_contain_text("山崎 ハル")
    assert_accessible(page)

    # The 見守り支援ネットワーク会議 recorded at the table.
    page.get_by_label("会議の種類").select_option(label="見守り支援ネットワーク会議")
    page.get_by_label("開催日").fill("令和8年11月27日")
    page.get_by_label(re.compile(people["minsei"]["name"])).check()
    page.get_by_label(re.compile(people["fukushi"]["name"])).check()
    page.get_by_label(re.compile("ほかの出席者")).fill("社協 山本")
    page.get_by_role("button", name="会議を記録する").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("見守り支援ネットワーク会議")
    expect(page.get_by_role("status")).to_contain_text("令和8年11月27日")
    assert_accessible(page)

    # The sheet printed: a PDF, with the people the table may see.
    sheet = page.get_by_role("link", name="会議の資料（PDF）を印刷する")
    printed = page.request.get(page.base + sheet.get_attribute("href"))
    assert printed.ok and printed.headers["content-type"] == "application/pdf"
    assert printed.body().startswith(b"%PDF")

    # Each watched person reviewed; 岡林さん's need goes to the counter.
    for entry, status in ((a, "変わりなし"), (c, "入院中")):
        card = page.locator(f"#watch-{entry['id']}")
        card.get_by_label(status).check()
        card.get_by_role("button", name=re.compile("確認を記録")).click()
        expect(page.locator(f"#watch-{entry['id']}")).to_contain_text(f"確認済み: {status}")
    card = page.locator(f"#watch-{b['id']}")
    card.get_by_label("気になる").check()
    card.get_by_label(re.compile("についてのメモ")).fill("物忘れが増えた")
    card.get_by_text("困りごとが見つかった").click()
    card.get_by_label("介護のこと").check()
    card.get_by_role("button", name=re.compile("確認を記録")).click()
    # Half a need is refused beside the field, the form kept.
    card = page.locator(f"#watch-{b['id']}")
    expect(card.locator(".field-error")).to_have_text("困りごとの内容を入力してください")
    expect(card.get_by_label("介護のこと")).to_be_checked()
    assert_accessible(page)
    card.get_by_label(re.compile("困りごと$")).fill("介護保険の申請を家族と相談したい")
    card.get_by_label("気になる").check()
    card.get_by_role("button", name=re.compile("確認を記録")).click()
    routed = page.locator(f"#watch-{b['id']} .routed")
    expect(routed).to_contain_text("として受け付け、つなぎ先:")
    expect(routed).to_contain_text("地域包括支援センター")
    assert_accessible(page)

    # The 地域福祉活動ネットワーク会議 on the same day evaluates the plan.
    page.goto(page.base + f"/community/areas/{DISTRICT}")
    page.get_by_label("会議の種類").select_option(label="地域福祉活動ネットワーク会議")
    page.get_by_label("開催日").fill("2026-11-27")
    page.get_by_label(re.compile(people["minsei"]["name"])).check()
    page.get_by_role("button", name="会議を記録する").click()
    page.get_by_label("ふれあいサロンの開催の評価", exact=True).select_option(label="達成")
    page.get_by_label("ふれあいサロンの開催の評価のメモ").fill("毎月開催できた")
    page.get_by_label("防災マップの更新の評価", exact=True).select_option(label="一部達成")
    page.get_by_role("button", name="評価を記録する").click()
    expect(page.get_by_role("status")).to_contain_text("計画の評価を記録しました")
    assert_accessible(page)
    page.get_by_role("link", name="計画とこれまでの評価").click()
    expect(page.get_by_role("table")).to_contain_text("令和8年11月27日） 達成：毎月開催できた")
    expect(page.get_by_role("table")).to_contain_text("一部達成")
    assert_accessible(page)
    csv = page.request.get(page.base + page.get_by_role("link", name=re.compile("CSV"))
                           .get_attribute("href"))
    assert csv.ok and "ふれあいサロンの開催" in csv.text()


def test_a_member_sees_only_their_district(console_page, district):
    page = console_page
    minsei, neighbour = district["people"]["minsei"], district["people"]["neighbour"]
    first = district["watched"][0]
    sign_in(page, minsei["login"])
    expect(page).to_have_url(re.compile(r"/community/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("見守りリスト")
    table = page.get_by_role("table")
    for name in ("山崎 ハル", "岡林 トメ", "片岡 ミツ"):
        expect(table).to_contain_text(name)
    expect(page.get_by_role("banner")).to_contain_text("地域の委員")
    assert_accessible(page)
    page.get_by_role("link", name="山崎 ハル さんの訪問を記録").click()
    page.get_by_label("訪問日時").fill("2026-11-28T10:00")
    page.get_by_label("変わりなし").check()
    page.get_by_label(re.compile("メモ")).fill("元気そう")
    assert_accessible(page)
    page.get_by_role("button", name="記録する").click()
    expect(page.get_by_role("status")).to_contain_text("山崎 ハル さんの訪問を記録しました")
    expect(page.get_by_role("row", name=re.compile("山崎 ハル"))).to_contain_text(
        "2026-11-28 10:00（令和8年11月28日） 変わりなし")
    page.get_by_role("button", name="サインアウト").click()

    sign_in(page, neighbour["login"])
    expect(page).to_have_url(re.compile(r"/community/$"))
    expect(page.get_by_role("main")).to_contain_text("見守りの対象の方はいません")
    expect(page.get_by_role("main")).not_to_contain_text("山崎")
    page.goto(page.base + f"/community/watch/{first['id']}/visit")
    expect(page.get_by_role("heading", level=1)).to_have_text("見つかりません")
    expect(page.get_by_role("main")).not_to_contain_text("山崎")
    page.goto(page.base + f"/community/areas/{DISTRICT}")
    expect(page.get_by_role("heading", level=1)).to_have_text("このページは開けません")
    assert_accessible(page)


@pytest.mark.calendar
def test_an_unvisited_person_shows_in_the_coordinators_queue(console_page, api, seeded,
                                                             config):
    page = console_page
    with time_machine.travel("2026-12-01T10:00:00+09:00"):
        set_up(api, seeded)
    # Nobody visits. 30 days after 1 December is the last day of the year, the counter's
    # holiday: the visits fall due on the first business morning of 2027, and the sweep a
    # week later opens them.
    with time_machine.travel("2027-01-12T10:00:00+09:00"):
        opened = queue.sweep(seeded, config=config)
        assert opened["watch_unvisited"] == 3
        sign_in(page, COORDINATOR)
        page.get_by_role("link", name="見守りの対応").click()
        table = page.get_by_role("table")
        row = page.get_by_role("row", name=re.compile("山崎 ハル"))
        expect(row).to_contain_text("訪問の期限切れ")
        expect(row).to_contain_text("2027-01-04 09:00")
        expect(table).to_contain_text("岡林 トメ")
        assert_accessible(page)
        row.get_by_label(re.compile("対応のメモ")).fill("電話で無事を確認")
        row.get_by_role("button", name="対応済み").click()
        expect(page.get_by_role("status")).to_contain_text("対応済みにしました")
        expect(page.get_by_role("table")).not_to_contain_text("山崎 ハル")
