"""A partner with only a browser: the letter's code at /ack, then the inbox at /partner/.

The counter makes the referrals through the API and prints the 紹介状; the partner types the
code read off that PDF, signs in, completes one referral with an outcome and declines another
straight from the inbox with the keyboard; the counter sees each step through the staff API.
Every page is checked with axe and may fetch nothing outside 127.0.0.1.
"""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from caseapp.models import User
from caseapp.services.core.actors import Actor
from caseapp.services.referrals import letters
from tests.api.loop_helpers import intake, one_each, referral_id
from tests.browser.axe import assert_accessible
from tests.helpers import EXAMPLE
from tests.web.console import PASSWORD, make_people

CODE = re.compile(r"受付コード[:：]([A-Z0-9]{4}-[A-Z0-9]{4})")


@pytest.fixture
def people(seeded):
    return make_people(seeded)


def printed_code(app, session, rid: int) -> str:
    """The code as the partner reads it off the letter the counter printed."""
    user = session.scalar(select(User).where(User.name == "counter-1"))
    pdf = letters.print_bytes(session, Actor(user.id, user.name, user.role), rid,
                              app.config["CASEAPP"])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    match = CODE.search(re.sub(r"\s+", "", text))
    assert match, "no acknowledgement code in the letter"
    return match.group(1)


def counter_sees(api, rid: int) -> dict:
    response = api.get(f"/api/v1/referrals/{rid}")
    assert response.status_code == 200, response.json
    return response.json


def test_a_partner_acknowledges_completes_and_declines_from_a_browser(
        console_page, app, session, api, people):
    page = console_page
    rid = one_each(api)["houkatsu"]
    other = {**EXAMPLE, "client": {**EXAMPLE["client"], "name": "田中 一郎",
                                   "name_kana": "タナカ イチロウ"}}
    second = referral_id(intake(api, other), "houkatsu")
    code = printed_code(app, session, rid)

    # The letter's code, typed at /ack: no account needed.
    page.goto(page.base + "/ack")
    expect(page.get_by_role("heading", level=1)).to_contain_text("受付コード")
    assert_accessible(page)
    page.get_by_label("受付コード").fill(code.lower())
    page.get_by_role("button", name="受け取りを連絡する").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("受理を記録しました")
    assert_accessible(page)
    assert counter_sees(api, rid)["status"] == "received"

    # Sign in: the inbox, the partner's name, the other referral marked new.
    page.goto(page.base + "/partner/")
    page.get_by_label("利用者名").fill("houkatsu-tanaka")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("受信箱")
    expect(page.locator(".partner-name")).to_contain_text("宛て")
    row = page.get_by_role("row").filter(has_text=f"番号 {second}")
    expect(row).to_contain_text("新着")
    assert_accessible(page)

    # 受理, then 完了 with an outcome and a note.
    page.get_by_role("link", name=f"番号 {rid}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"つなぎ 番号 {rid}")
    expect(page.get_by_text("山田 太郎")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("「受理」にしました")
    assert counter_sees(api, rid)["status"] == "accepted"

    page.get_by_role("button", name="完了", exact=True).click()  # no outcome chosen yet
    expect(page.get_by_text("結果を次から選んでください")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("結果（必須）").select_option(label="支援につながった")
    page.locator(f"#note-completed-{rid}").fill("介護保険の申請を支援しました")
    page.get_by_role("button", name="完了", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("「完了」にしました")
    expect(page.get_by_text("このつなぎで行える操作はありません")).to_be_visible()
    assert_accessible(page)
    done = counter_sees(api, rid)
    assert done["status"] == "completed" and done["outcome"] == "got_help"
    assert done["outcome_note"] == "介護保険の申請を支援しました"
    steps = [(e["to_status"], e["actor"]) for e in done["history"]][-3:]
    assert steps == [("received", "ack-link:houkatsu"), ("accepted", "houkatsu-tanaka"),
                     ("completed", "houkatsu-tanaka")]

    # 辞退 straight from the inbox, by keyboard alone.
    page.get_by_role("link", name="受信箱へ戻る").click()
    row = page.get_by_role("row").filter(has_text=f"番号 {second}")
    summary = row.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    reason = row.get_by_label("辞退の理由（必須）")
    expect(reason).to_be_visible()
    page.keyboard.press("Tab")
    expect(reason).to_be_focused()
    page.keyboard.type("対象地域外のため")
    page.keyboard.press("Tab")
    page.keyboard.type("隣町の窓口をご案内ください")
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="辞退")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        f"番号 {second} のつなぎを「辞退」にしました")
    assert_accessible(page)
    declined = counter_sees(api, second)
    last = declined["history"][-1]
    assert declined["status"] == "rejected" and last["to_status"] == "rejected"
    assert last["note"] == "対象地域外のため\n隣町の窓口をご案内ください"


def test_the_status_filter_swaps_the_list_in_place(console_page, api, people):
    page = console_page
    ids = one_each(api)
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill("houkatsu-tanaka")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("link", name=f"番号 {ids['houkatsu']}")).to_be_visible()
    page.get_by_label("完了", exact=True).check()
    page.get_by_role("button", name="絞り込む").click()
    expect(page).to_have_url(re.compile(r"/partner/\?status=completed$"))
    expect(page.locator("#inbox-list")).to_contain_text("表示するつなぎはありません")
    expect(page.get_by_role("heading", level=1)).to_have_text("受信箱")  # the page stayed
    assert_accessible(page)


def test_the_letters_qr_link_opens_in_the_shared_layout(console_page, app, session, api,
                                                         people):
    page = console_page
    rid = one_each(api)["houkatsu"]
    user = session.scalar(select(User).where(User.name == "counter-1"))
    made = letters.produce(session, Actor(user.id, user.name, user.role), rid,
                           app.config["CASEAPP"])
    page.goto(page.base + made.ack_url.removeprefix("http://caseapp.test"))
    expect(page.get_by_role("heading", level=1)).to_have_text("つなぎの受け取りのご連絡")
    expect(page.get_by_role("link", name="本文へ移動")).to_be_attached()  # the shared layout
    assert_accessible(page)
    page.get_by_role("button", name="受け取りました").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("受理を記録しました")
    assert_accessible(page)
    assert counter_sees(api, rid)["status"] == "received"
