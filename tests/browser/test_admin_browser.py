"""The administrator in chromium: changes a rule, sees the replay preview, adopts it and the
next intake routes by it; manages users; test-sends to a partner's webhook. The supervisor
reads the audit log. Nothing leaves 127.0.0.1 and axe-core finds nothing serious."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from caseapp.models import User
from caseapp.services.core import auth, signin
from caseapp.services.core.actors import Actor
from caseapp.services.intake import consultations
from tests.browser.axe import assert_accessible
from tests.helpers import EXAMPLE
from tests.web.console import PASSWORD, make_people

NEW_PASSWORD = "新しい合言葉 battery staple"


@pytest.fixture
def people(seeded):
    made = make_people(seeded)
    auth.create_user(seeded, "yamamoto", "admin")
    signin.set_password(seeded, "yamamoto", PASSWORD)
    return made


def _sign_in(page, name: str, password: str = PASSWORD):
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill(name)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")


def _intake(session):
    """A consultation of a 74-year-old about debt, as the counter records it."""
    actor = Actor(user_id=None, name="suzuki", role="counter")
    return consultations.record(session, actor, {**EXAMPLE, "consent": None,
                                                 "client": None}).consultation


def test_an_admin_changes_a_rule_previews_it_adopts_it_and_intake_follows(
        console_page, people, seeded):
    earlier = _intake(seeded)
    assert "houkatsu" in {r.partner.code for r in earlier.referrals}
    page = console_page
    _sign_in(page, "yamamoto")
    page.get_by_role("link", name="ルール").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("つなぎ先ルール")
    expect(page.locator("#rule-history")).to_contain_text("第 1 版（使用中）")
    assert_accessible(page)

    # 地域包括 from 75 rather than 65: the 74-year-old no longer goes there.
    editor = page.get_by_label("ルール（YAML）")
    text = editor.input_value()
    start = text.index("id: elderly")
    at = text.index("value: 65", start)
    editor.fill(text[:at] + "value: 75" + text[at + len("value: 65"):])
    page.get_by_label(re.compile("試す期間")).fill("3")
    page.get_by_role("button", name="過去の相談で試す").click()
    expect(page.get_by_role("heading", name="過去の相談で試した結果")).to_be_visible()
    expect(page.locator("#replay-summary")).to_contain_text("相談 1 件のうち、1 件")
    expect(page.locator("#replay-counts")).to_contain_text("houkatsu")
    expect(page.locator("#replay-examples")).to_contain_text(str(earlier.id))
    assert_accessible(page)

    page.get_by_role("button", name="このルールを次の版として採用する").click()
    expect(page.get_by_role("status")).to_contain_text("第 2 版として採用しました")
    expect(page.locator("#rule-history")).to_contain_text("第 2 版（使用中）")
    expect(page.locator("#rule-history")).to_contain_text("yamamoto")
    seeded.expire_all()
    routed = _intake(seeded)
    assert routed.ruleset_version == 2
    assert "houkatsu" not in {r.partner.code for r in routed.referrals}

    # Back to the first version, as a new one.
    page.get_by_role("button", name=re.compile(r"もう一度採用する\s*（第 1 版）")).click()
    expect(page.get_by_role("status")).to_contain_text("第 1 版を第 3 版として採用し直しました")
    assert_accessible(page)


def test_an_admin_creates_resets_and_revokes_a_user(console_page, people, seeded):
    page = console_page
    _sign_in(page, "yamamoto")
    page.get_by_role("link", name="利用者").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("利用者の管理")
    assert_accessible(page)

    page.get_by_label("利用者名", exact=True).fill("takahashi")
    page.get_by_label("役割", exact=True).select_option(label="相談員")
    page.get_by_role("button", name="利用者を作る").click()
    shown = page.locator("#one-time-password code")
    expect(shown).to_be_visible()
    one_time = shown.inner_text()
    assert len(one_time) >= 12
    assert_accessible(page)

    row = page.locator("tr", has=page.get_by_role("rowheader", name="takahashi"))
    row.get_by_label(re.compile("takahashi の新しいパスワード")).fill(NEW_PASSWORD)
    row.get_by_role("button", name=re.compile("パスワードを設定")).click()
    expect(page.get_by_role("status")).to_contain_text("takahashi のパスワードを設定しました")

    row = page.locator("tr", has=page.get_by_role("rowheader", name="takahashi"))
    row.get_by_role("button", name=re.compile("利用を止める")).click()
    expect(page.get_by_role("status")).to_contain_text("takahashi の利用を止めました")
    row = page.locator("tr", has=page.get_by_role("rowheader", name="takahashi"))
    expect(row).to_contain_text("停止中")
    assert_accessible(page)
    seeded.expire_all()
    assert not seeded.scalar(select(User.active).where(User.name == "takahashi"))


def test_an_admin_test_sends_to_a_partner_webhook(console_page, people, sink):
    page = console_page
    _sign_in(page, "yamamoto")
    page.get_by_role("link", name="連携先").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("連携先の設定")
    assert_accessible(page)
    page.get_by_role("link", name="自立相談支援機関（南国市社協）").click()
    page.get_by_label(re.compile("Webhook の URL")).fill(sink.url)
    page.get_by_role("button", name="保存する").click()
    expect(page.locator("#webhook-secret")).to_contain_text("署名鍵を作りました")

    page.get_by_role("button", name="テスト送信").click()
    answer = page.locator("#test-answer")
    expect(answer).to_contain_text("届きました")
    expect(answer).to_contain_text("204")
    assert sink.received and b"caseapp.test" in sink.received[-1].body
    assert_accessible(page)

    sink.respond = lambda _r, _n: (500, {})
    page.get_by_role("button", name="テスト送信").click()
    expect(answer).to_contain_text("サーバーでエラーが起きました（HTTP 500）")


def test_a_supervisor_filters_the_audit_log(console_page, people):
    page = console_page
    _sign_in(page, "sato")
    page.get_by_role("link", name="監査ログ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("監査ログ")
    page.get_by_label("職員（利用者名）").fill("sato")
    page.get_by_label(re.compile("この日から")).fill("令和8年11月1日")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("#audit-entries")).to_contain_text("サインイン")
    assert_accessible(page)
