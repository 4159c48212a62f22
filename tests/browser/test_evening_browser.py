"""An evening run end to end on two windows at once: the intake tablet and the queue board."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.web.console import PASSWORD, make_people

TABLET = {"width": 800, "height": 1280}


@pytest.fixture
def people(seeded):
    return make_people(seeded)


def _sign_in(page, name: str) -> None:
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill(name)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")


def _second_window(page, console_errors):
    other = page.context.new_page()  # the same guard on leaving 127.0.0.1 applies
    other.on("console", lambda msg: console_errors.append(msg.text)
             if msg.type == "error" and "status of 4" not in msg.text else None)
    other.base = page.base
    return other


def test_an_evening_on_a_tablet_and_a_queue_board(console_page, console_errors, people):
    tablet = console_page
    tablet.set_viewport_size(TABLET)
    _sign_in(tablet, "suzuki")

    # Before the doors open: the evening and the partners present.
    tablet.get_by_role("link", name="相談会").click()
    expect(tablet.get_by_role("heading", level=1)).to_have_text("相談会")
    assert_accessible(tablet)
    tablet.get_by_label("名称").fill("今夜はあんしんしナイト！")
    tablet.get_by_label("地域包括支援センター", exact=True).check()
    tablet.get_by_label("法テラス（日本司法支援センター）", exact=True).check()
    tablet.get_by_label("法テラス（日本司法支援センター）から来る専門職（任意）").fill("弁護士 1名")
    tablet.get_by_role("button", name="登録する").click()
    expect(tablet.get_by_role("heading", level=1)).to_have_text("今夜はあんしんしナイト！")
    expect(tablet.locator(".messages")).to_contain_text("登録しました")
    event_url = tablet.url
    assert_accessible(tablet)

    # The board, on a second window.
    board = _second_window(tablet, console_errors)
    board.goto(event_url + "?show=board")
    expect(board.get_by_text("まだ受付はありません")).to_be_visible()
    board.evaluate("window.notReloaded = true")

    # A walk-in on the tablet: anonymous, one topic button, the routing preview, save.
    tablet.goto(event_url + "?show=intake")
    tablet.get_by_text("債務について", exact=True).click()
    preview = tablet.locator("#routing-preview")
    # The first preview compiles the rule set: give a busy machine time.
    expect(preview.get_by_role("heading")).to_contain_text("つなぎ先の見込み", timeout=20000)
    expect(preview).to_contain_text("法テラス")
    expect(preview).to_contain_text("今夜参加")
    assert_accessible(tablet)
    tablet.get_by_role("button", name="受け付ける").click()
    expect(tablet.get_by_role("status").filter(has_text="受け付けました")).to_have_text(
        "1 番目の方を受け付けました。")
    # The form is ready for the next person.
    expect(tablet.get_by_label("債務について")).not_to_be_checked()

    # The board shows it without a reload.
    row = board.locator("tbody tr").first
    expect(row).to_contain_text("債務について")
    expect(row).to_contain_text("匿名")
    expect(row).to_contain_text("未記録")
    assert board.evaluate("window.notReloaded") is True
    assert_accessible(board)

    # A named, urgent walk-in.
    tablet.get_by_text("介護のこと", exact=True).click()
    tablet.get_by_text("至急", exact=True).click()
    tablet.get_by_label(re.compile("お名前")).fill("山田 花子")
    tablet.get_by_role("button", name="受け付ける").click()
    expect(tablet.get_by_role("status").filter(has_text="受け付けました")).to_have_text(
        "2 番目の方を受け付けました。")
    second = board.locator("tbody tr").nth(1)
    expect(second).to_contain_text("山田 花子")
    expect(second).to_contain_text("至急")

    # The on-the-spot team and its outcome in two taps, on the board.
    row.get_by_text("法テラス（日本司法支援センター）", exact=True).click()
    row.get_by_role("button", name="つなぐ").click()
    expect(board.locator("tbody tr").first).to_contain_text("対応済")
    expect(board.locator("tbody tr").first).to_contain_text("つなぎ")
    assert board.evaluate("window.notReloaded") is True
    # The other window sees the team too.
    tablet.goto(event_url + "?show=board")
    expect(tablet.locator("tbody tr").first).to_contain_text("対応済")

    # After the evening: the report and its CSV.
    tablet.get_by_role("link", name="実施報告").click()
    expect(tablet.get_by_role("heading", level=1)).to_contain_text("実施報告")
    expect(tablet.get_by_role("row", name=re.compile("^相談件数"))).to_contain_text("2")
    expect(tablet.get_by_role("row", name=re.compile("^チーム対応によるつなぎ"))).to_contain_text(
        "1")
    assert_accessible(tablet)
    with tablet.expect_download() as download:
        tablet.get_by_role("link", name="CSV をダウンロード").click()
    assert download.value.suggested_filename.endswith("-report.csv")
    board.close()
