"""Signing in and out in chromium, in Japanese, with the keyboard, and nothing from outside."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.web.console import PASSWORD, make_people


@pytest.fixture
def people(seeded):
    return make_people(seeded)


def test_sign_in_see_home_and_sign_out(console_page, people):
    page = console_page
    page.goto(page.base + "/")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("サインイン")
    assert page.evaluate("typeof htmx.ajax") == "function"  # the vendored file, loaded
    assert_accessible(page)

    page.get_by_label("利用者名").fill("suzuki")
    page.get_by_label("パスワード").fill("wrong password!!")
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("alert")).to_contain_text("利用者名またはパスワードが違います")
    assert_accessible(page)

    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")
    expect(page.get_by_role("banner")).to_contain_text("suzuki")
    expect(page.get_by_role("link", name="ホーム")).to_have_attribute("aria-current", "page")
    assert_accessible(page)

    page.get_by_role("button", name="サインアウト").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("サインアウトしました")
    page.goto(page.base + "/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_sign_in_by_keyboard_alone_with_a_visible_focus(console_page, people):
    page = console_page
    page.goto(page.base + "/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="本文へ移動")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    expect(page.get_by_label("利用者名")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.type("suzuki")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")


def test_a_partner_user_lands_in_the_inbox(console_page, people):
    page = console_page
    page.goto(page.base + "/login")
    page.get_by_label("利用者名").fill("houkatsu-tanaka")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page).to_have_url(re.compile(r"/partner/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("受信箱")
    assert_accessible(page)
    page.goto(page.base + "/")
    expect(page).to_have_url(re.compile(r"/partner/$"))


def test_a_request_leaving_127_0_0_1_is_caught(console_page, outside_requests, console_errors):
    # A page without the console's CSP, so the request reaches the network layer at all.
    console_page.set_content('<html lang="ja"><img src="http://192.0.2.1/logo.png" alt=""></html>')
    assert outside_requests == ["http://192.0.2.1/logo.png"]
    # Caught as it should be; the fixture's own checks stay quiet.
    outside_requests.clear()
    console_errors.clear()


def test_the_axe_check_fails_a_page_with_a_serious_violation(console_page):
    console_page.set_content('<html lang="ja"><body><button></button></body></html>')
    with pytest.raises(AssertionError, match="button-name"):
        assert_accessible(console_page)
