"""The counter's day in chromium: intake with the routing preview, the case, ホーム, a merge.

Nothing here runs a worker: deliveries the intake queued are sent in-process by the same
sending service the worker calls, so a referral shows ``sent`` only once it really was.
Set CONSOLE_SCREENSHOTS=1 to write each page's picture into docs/console/.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from playwright.sync_api import expect
from sqlalchemy import select

from caseapp.api.schemas.consultations import ConsultationIn
from caseapp.models import Case, Client, Delivery, Referral, User
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.core.actors import Actor
from caseapp.services.delivery import gateways
from caseapp.services.intake import consultations
from caseapp.services.referrals import sending
from tests.browser.axe import assert_accessible
from tests.helpers import EXAMPLE
from tests.web.console import PASSWORD, make_people

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


@pytest.fixture
def people(seeded):
    return make_people(seeded)


def shot(page, name: str) -> None:
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        page.evaluate("window.scrollTo(0, 0)")  # the sticky preview shows at the top
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, name: str = "suzuki") -> None:
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill(name)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")


def send_what_is_due(session) -> list[str]:
    """What the worker would do with every queued delivery, done here in-process."""
    config = current_app.config["CASEAPP"]
    ids = list(session.scalars(select(Delivery.id).where(Delivery.state == "pending")))
    session.commit()
    return [sending.process(session, i, config, gateways.for_app(current_app)) for i in ids]


def submit(page) -> None:
    # The preview's last request settles first: leaving the page mid-request is logged by htmx.
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="登録").click()


def fill_example(page) -> None:
    page.get_by_label("氏名", exact=True).fill("山田 太郎")
    page.get_by_label("ふりがな", exact=True).fill("ヤマダ タロウ")
    page.get_by_label("生年月日", exact=True).fill("昭和27年4月1日")
    page.get_by_label("受付の方法").select_option("window")
    page.get_by_label("債務について").check()
    page.get_by_label("収入・生活費のこと").check()
    page.get_by_label("相談の概要").fill("年金だけでは返済が追いつかない")
    page.get_by_label("年齢", exact=True).fill("74")
    page.get_by_label("世帯の人数").fill("1")
    page.get_by_label("月収（円）").fill("90000")
    page.get_by_label("借入先（1）").fill("A社")
    page.get_by_label("残高（円）（1）").fill("800000")


def test_a_named_intake_routes_as_the_api_says_and_its_referrals_go_out(
        console_page, people, api, session):
    page = console_page
    sign_in(page)
    page.get_by_role("link", name="相談受付").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("相談受付")
    fill_example(page)
    expect(page.get_by_label("いま同意を得た（匿名の相談では記録しません）")).to_be_checked()

    routed = api.post("/api/v1/rules/evaluate", json={
        k: v for k, v in EXAMPLE.items() if k != "consent"}).json["decisions"]
    assert routed
    preview = page.locator("#routing-preview")
    for d in routed:
        expect(preview.locator(f'[data-partner="{d["partner"]}"]')).to_contain_text(d["reason"])
    expect(preview.locator(".decision")).to_have_count(len(routed))
    expect(page.locator("#emergency-banner")).to_have_count(0)
    assert_accessible(page)
    shot(page, "intake")

    submit(page)
    expect(page.locator("#registered")).to_contain_text("相談を登録しました")
    case = session.scalar(select(Case))
    session.commit()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"ケース {case.id}：山田 太郎")
    expect(page.locator(".referral")).to_have_count(len([d for d in routed
                                                         if d["action"] == "refer"]))
    assert_accessible(page)

    assert send_what_is_due(session)
    page.reload()
    statuses = page.locator(".referral")
    for i in range(statuses.count()):
        expect(statuses.nth(i)).to_have_attribute("data-status", "sent")
        expect(statuses.nth(i).locator(".status")).to_have_text("送付済み")
    shot(page, "case")

    page.get_by_role("link", name="ホーム").click()
    recent = page.locator("#queue-recent")
    recent.get_by_role("link", name=re.compile("山田 太郎")).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.id}$"))
    assert {r.status for r in session.scalars(select(Referral))} == {"sent"}


def test_an_anonymous_intake(console_page, people, session):
    page = console_page
    sign_in(page)
    page.goto(page.base + "/consultations/new")
    page.get_by_label("匿名", exact=True).check()
    page.get_by_label("受付の方法").select_option("phone")
    page.get_by_label("食べるものがない").check()
    page.get_by_label("相談の概要").fill("今日食べるものがない")
    expect(page.locator("#routing-preview .decision").first).to_be_visible()
    submit(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("匿名の相談")
    assert session.scalar(select(Client)) is None
    assert_accessible(page)


def test_an_emergency_raises_the_banner_before_saving(console_page, people):
    page = console_page
    sign_in(page)
    page.goto(page.base + "/consultations/new")
    page.get_by_label("緊急度").select_option("emergency")
    expect(page.locator("#emergency-banner")).to_contain_text("緊急")
    assert_accessible(page)


def test_a_wareki_birth_date_error_is_shown_beside_its_field(console_page, people, session):
    page = console_page
    sign_in(page)
    page.goto(page.base + "/consultations/new")
    fill_example(page)
    page.get_by_label("生年月日", exact=True).fill("平成32年1月1日")
    submit(page)
    field = page.get_by_label("生年月日", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#client-birth_date-error")).to_contain_text("平成")
    expect(field).to_have_value("平成32年1月1日")
    assert session.scalar(select(Case)) is None
    assert_accessible(page)
    shot(page, "intake-error")


def test_the_overdue_queue_links_to_its_case(console_page, people, session):
    counter = _actor(session)
    # A month ago: its next step (five business days on) is past, whatever the calendar.
    long_ago = (utcnow() - timedelta(days=30)).astimezone(TOKYO)
    data = intake({**EXAMPLE, "received_at": long_ago.isoformat(),
                   "consent": {**EXAMPLE["consent"], "given_at": long_ago.isoformat()}})
    case_id = consultations.record(session, counter, data).consultation.case_id
    # A person in danger today: due within the hour, so listed first, above the overdue one.
    urgent = consultations.record(session, counter, intake({**EXAMPLE, "urgency": "emergency"}))
    session.commit()  # SQLite: no read left open while the served app writes
    page = console_page
    sign_in(page)
    due = page.locator("#queue-due")
    expect(due).to_contain_text("期限切れ")
    expect(due.locator("li").first).to_contain_text(
        f"ケース {urgent.consultation.case_id}")
    expect(due.locator("li").first).to_contain_text("緊急")
    due.get_by_role("link", name=re.compile(f"ケース {case_id}")).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
    page.go_back()
    assert_accessible(page)
    shot(page, "home")


def test_a_merge_says_what_moves(console_page, people, session):
    counter = _actor(session)
    for _ in range(2):
        consultations.record(session, counter, intake({**EXAMPLE, "consent": None}))
    first, second = session.scalars(select(Client).order_by(Client.id)).all()
    session.commit()  # SQLite: no read left open while the served app writes
    page = console_page
    sign_in(page)
    page.get_by_role("link", name="相談者").click()
    page.get_by_label("氏名・ふりがな・電話番号").fill("やまだ")
    expect(page.locator("#client-hits tbody tr")).to_have_count(2)
    assert_accessible(page)
    shot(page, "clients")
    page.locator("#client-hits").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("相談者：山田 太郎")
    page.get_by_role("link", name="この記録をここへ統合する…").click()
    moves = page.locator("#merge-moves")
    expect(moves).to_contain_text("相談：1 件")
    expect(moves).to_contain_text("ケース：1 件")
    assert_accessible(page)
    shot(page, "merge")
    page.get_by_label("統合の理由（記録に残ります）").fill("同じ人（生年月日と読みが一致）")
    page.get_by_role("button", name="統合する").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"相談者 {second.id} を {first.id} に統合しました")
    session.expire_all()
    assert session.get(Client, second.id).merged_into_id == first.id


def test_the_referrals_page(console_page, people, session):
    case_id = consultations.record(session, _actor(session), intake(EXAMPLE)
                                   ).consultation.case_id
    page = console_page
    sign_in(page)
    page.get_by_role("link", name="紹介", exact=True).click()
    expect(page.locator("#referrals tbody tr").first).to_contain_text(f"ケース {case_id}")
    assert_accessible(page)
    shot(page, "referrals")


def intake(body: dict) -> dict:
    """A request body as the API's schema hands it to the intake service."""
    return ConsultationIn().load(body)


def _actor(session) -> Actor:
    return Actor(user_id=session.scalar(select(User.id).where(User.name == "suzuki")),
                 name="suzuki", role="counter", source_ip="127.0.0.1")


@pytest.mark.parametrize("width,height", [(768, 1024), (1366, 768)])
def test_the_pages_fit_a_tablet_and_an_office_screen(console_page, people, session, width,
                                                     height):
    case_id = consultations.record(session, _actor(session), intake(EXAMPLE)
                                   ).consultation.case_id
    page = console_page
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page)
    for path in ("/", "/consultations/new", f"/cases/{case_id}", "/referrals", "/clients"):
        page.goto(page.base + path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
