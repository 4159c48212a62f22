"""/ack: the short code of a 紹介状 marks the referral received once; every try is audited.

And the QR link of the same letter answers a browser in HTML for every outcome.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from caseapp import create_app
from caseapp.domain import ack_codes
from caseapp.extensions import db
from caseapp.models import AckCode, AckLinkUse, AuditEntry, Referral, User
from caseapp.services.core.actors import Actor
from caseapp.services.referrals import letters
from tests.api.loop_helpers import one_each
from tests.conftest import make_config
from tests.helpers import assert_problem
from tests.web.console import Console

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def printed(app, api, session):
    """(referral id, code, ack link path) of a letter printed for houkatsu's referral."""
    rid = one_each(api)["houkatsu"]
    user = session.scalar(select(User).where(User.name == "counter-1"))
    made = letters.produce(session, Actor(user.id, user.name, user.role), rid,
                           app.config["CASEAPP"])
    return rid, made.code, made.ack_url.removeprefix("http://caseapp.test")


def type_code(client, code, **kw):
    # As a browser does: the form's CSRF token first, then the post.
    return Console(client).post("/ack", {"code": code}, token_from="/ack", **kw)


def text(response) -> str:
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def uses(session) -> list[tuple]:
    return [(a.outcome, (a.detail or {}).get("why")) for a in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "ack_code.use").order_by(AuditEntry.id))]


def test_the_form_asks_for_the_code_in_japanese(anon):
    page = anon.client.get("/ack", headers=BROWSER)
    assert page.status_code == 200
    html = text(page)
    assert '<html lang="ja">' in html and '<label for="code">' in html
    assert 'name="code"' in html and "受付コード" in html
    assert not re.search(r'(src|href)="https?://', html)  # nothing fetched from outside


def test_the_code_marks_received_once_and_then_says_already_used(anon, session, printed):
    rid, code, _path = printed
    done = type_code(anon.client, code)
    assert done.status_code == 200 and "受理を記録しました" in text(done)
    session.expire_all()
    referral = session.get(Referral, rid)
    assert referral.status == "received"
    assert referral.history[-1].actor_label == "ack-link:houkatsu"
    assert "受付コード" in referral.history[-1].note
    again = type_code(anon.client, code)
    assert again.status_code == 409 and "すでに使用されています" in text(again)
    assert uses(session) == [("success", None), ("refused", "このリンクは使用済みです"
                                                            "（link already used）")]
    assert session.scalar(select(AckLinkUse.referral_id)) == rid


def test_the_code_and_the_qr_link_of_one_letter_acknowledge_once_between_them(
        anon, session, printed):
    _rid, code, path = printed
    assert type_code(anon.client, code).status_code == 200
    used = anon.client.post(path, headers=BROWSER)
    assert used.status_code == 409 and "すでに使用されています" in text(used)
    assert assert_problem(anon.post(path, headers={"Accept": "application/json"}), 409)


@pytest.mark.parametrize("typed", ["{lower}", "{half} {rest}", "{half}-{rest}", "{wide}"])
def test_the_code_may_be_typed_as_people_type_it(anon, session, printed, typed):
    _rid, code, _path = printed
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code)  # full-width, as a Japanese IME types
    entry = typed.format(lower=code.lower(), half=code[:4], rest=code[4:], wide=wide)
    assert type_code(anon.client, entry).status_code == 200


def test_an_unknown_code_shows_the_form_again_and_is_logged_without_the_code(
        anon, session, printed):
    rid, code, _path = printed
    wrong = "".join(next(c for c in ack_codes.ALPHABET if c != ch) for ch in code)
    for typed in (wrong, "0OIL1234", ""):
        page = type_code(anon.client, typed)
        assert page.status_code in (404, 400)
    page = type_code(anon.client, wrong)
    html = text(page)
    assert "見つかりません" in html and 'role="alert"' in html and 'aria-invalid="true"' in html
    assert f'value="{wrong}"' in html
    session.expire_all()
    assert session.get(Referral, rid).status == "requested"
    logged = session.scalars(select(AuditEntry).where(AuditEntry.action == "ack_code.use")).all()
    assert {a.outcome for a in logged} == {"denied"} and len(logged) >= 3
    assert all(wrong not in str(a.detail) and a.actor_role == "anonymous" for a in logged)


def test_an_expired_code_says_what_to_do_next(anon, session, printed):
    rid, code, path = printed
    with time_machine.travel(datetime.now(UTC) + timedelta(days=30, minutes=1)):
        page = type_code(anon.client, code)
        assert page.status_code == 410
        html = text(page)
        assert "有効期限が切れています" in html and "紹介元" in html
        link = anon.client.post(path, headers=BROWSER)
        assert link.status_code == 410 and "有効期限が切れています" in text(link)
    session.expire_all()
    assert session.get(Referral, rid).status == "requested"
    assert uses(session) == [("denied", "expired")]


def test_a_code_for_a_cancelled_referral_does_nothing(anon, api, session, printed):
    rid, code, _path = printed
    api.post(f"/api/v1/referrals/{rid}/cancel", json={"reason": "取り下げ"})
    page = type_code(anon.client, code)
    assert page.status_code == 409 and "記録できない状態" in text(page)
    assert session.scalar(select(AckLinkUse)) is None


def test_the_link_answers_a_browser_in_html_and_a_script_in_json(anon, session, printed):
    _rid, _code, path = printed
    page = anon.client.get(path, headers=BROWSER)
    assert page.status_code == 200 and '<form method="post">' in text(page)
    assert "令和" in text(page)  # the expiry, in 和暦 and Tokyo time
    assert anon.client.get(path, headers={"Accept": "application/json"}).json["used"] is False
    assert anon.client.get(path).json["status"] == "requested"  # no preference: JSON as before
    unknown = anon.client.get("/api/v1/ack/not.a.token", headers=BROWSER)
    assert unknown.status_code == 404 and "見つかりません" in text(unknown)
    assert_problem(anon.client.get("/api/v1/ack/not.a.token",
                                   headers={"Accept": "application/json"}), 404)
    done = anon.client.post(path, headers=BROWSER)
    assert done.status_code == 200 and "受理を記録しました" in text(done)
    shown = anon.client.get(path, headers=BROWSER)
    assert "すでに記録されています" in text(shown) and "<form" not in text(shown)


@pytest.mark.real_commits  # the second app's connection writes audit rows beside the session's
def test_typing_codes_is_rate_limited_per_address(database_url, tmp_path, session, printed):
    _rid, code, _path = printed
    limited = create_app(make_config(database_url, tmp_path, ratelimit_enabled=True,
                                     ratelimit_ack="2 per minute"))
    client = limited.test_client()
    assert client.get("/ack").status_code == 200
    for _ in range(2):
        assert type_code(client, "ABCDEFGH").status_code == 404
    stopped = type_code(client, code)
    assert stopped.status_code == 429 and "回数が多すぎます" in text(stopped)
    assert client.get("/ack").status_code == 200  # the form itself stays open
    assert session.scalar(select(AckCode.code)) == code
    with limited.app_context():
        db.engine.dispose()


def test_the_pages_share_the_console_layout_and_its_strict_csp(anon, printed):
    _rid, _code, path = printed
    for page in (anon.client.get("/ack", headers=BROWSER), anon.client.get(path, headers=BROWSER)):
        html = text(page)
        assert 'class="skip-link"' in html and "console/console.css" in html
        assert '<meta name="robots" content="noindex">' in html
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "style=" not in html and "<script>" not in html


def test_a_code_posted_without_the_form_token_is_refused(anon, session, printed):
    rid, code, _path = printed
    forged = anon.client.post("/ack", data={"code": code}, headers=BROWSER)
    assert forged.status_code == 400 and "送信を受け付けられませんでした" in text(forged)
    session.expire_all()
    assert session.get(Referral, rid).status == "requested"
