"""/partner/: a partner user's inbox and referral pages, on the JSON inbox's service.

Only the partner's own referrals, in pages and htmx fragments alike; another partner's referral
is the same 404 as a missing one. Each step goes through the same service, with the same
Japanese refusals beside the fields, and the counter sees it.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from caseapp.models import AuditEntry, Referral
from caseapp.services.core import signin
from tests.api.loop_helpers import intake, one_each, referral_id
from tests.helpers import EXAMPLE
from tests.web.console import PASSWORD, Console

HX = {"HX-Request": "true", "HX-Target": "inbox-list"}


@pytest.fixture
def made(api, people):
    """Referrals to houkatsu (the signed-in partner) and to others: {code: id}."""
    ids = one_each(api)
    return ids


@pytest.fixture
def partner(console, made):
    assert console.sign_in("houkatsu-tanaka").status_code == 302
    return console


@pytest.fixture
def jiritsu(app, session, made):
    signin.create_partner_user(session, "jiritsu", "jiritsu-kato", PASSWORD)
    other = Console(app.test_client())
    assert other.sign_in("jiritsu-kato").status_code == 302
    return other


def another_person(api, name: str, kana: str, consent: bool = True) -> int:
    """A new consultation routed to houkatsu too (one open referral per partner and case)."""
    body = {**EXAMPLE, "client": {**EXAMPLE["client"], "name": name, "name_kana": kana}}
    if not consent:
        body.pop("consent")
    return referral_id(intake(api, body), "houkatsu")


def html(response) -> str:
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def without_tokens(body: str) -> str:
    # A CSRF token carries its time, so two pages a second apart differ only there.
    return re.sub(r'(X-CSRFToken": "|name="csrf_token" value=")[^"]+', r"\1", body)


def step(console, rid, status, origin="referral", **fields):
    return console.post(f"/partner/referrals/{rid}/status",
                        {"status": status, "from": origin, **fields}, token_from="/partner/")


def audit(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                    AuditEntry.purpose == "partner_inbox")
                           .order_by(AuditEntry.id)).all()


def test_the_inbox_shows_only_the_partners_own_referrals_and_its_name(partner, made, session):
    page = partner.get("/partner/")
    assert page.status_code == 200
    body = html(page)
    assert f"番号 {made['houkatsu']}" in body
    assert f"番号 {made['houterasu']}" not in body and f"番号 {made['jiritsu']}" not in body
    assert "山田 太郎" in body and "新着" in body
    (listed,) = audit(session, "list")
    assert listed.detail["results"] == [made["houkatsu"]]
    assert "client.name" in listed.detail["items"]


def test_the_partners_name_heads_the_inbox(partner, session):
    from caseapp.models import Partner
    name = session.scalar(select(Partner.name).where(Partner.code == "houkatsu"))
    assert f"{name} 宛て" in html(partner.get("/partner/"))


def test_overdue_then_new_lead_the_inbox_and_the_status_filter_narrows_it(
        partner, api, made, session):
    accepted = another_person(api, "田中 一郎", "タナカ イチロウ")
    for status in ("received", "accepted"):
        assert step(partner, accepted, status).status_code == 302
    newest = another_person(api, "伊藤 二郎", "イトウ ジロウ")
    overdue = made["houkatsu"]
    session.execute(update(Referral).where(Referral.id == overdue)
                    .values(ack_due_at=datetime.now(UTC) - timedelta(days=1)))
    session.commit()
    body = html(partner.get("/partner/"))
    order = [int(n) for n in re.findall(r'href="/partner/referrals/(\d+)"', body)]
    assert order == [overdue, newest, accepted]
    assert "期限切れ" in body
    only = html(partner.get("/partner/?status=accepted"))
    assert re.findall(r'href="/partner/referrals/(\d+)"', only) == [str(accepted)]
    assert 'value="accepted" id="filter-accepted" checked' in only


def test_the_filter_answers_htmx_with_the_list_alone(partner, made):
    fragment = partner.get("/partner/?status=requested", headers=HX)
    body = html(fragment)
    assert 'id="inbox-list"' in body
    assert "<html" not in body and f"番号 {made['houkatsu']}" in body


def test_the_referral_page_shows_the_partner_view_and_logs_the_disclosure(
        partner, made, session):
    rid = made["houkatsu"]
    body = html(partner.get(f"/partner/referrals/{rid}"))
    assert "山田 太郎" in body and "ヤマダ タロウ" in body
    assert "年金だけでは返済が追いつかない" in body  # consent covers houkatsu: the summary
    assert "ご本人の同意" in body and "令和" in body
    assert "1952" not in body and "800000" not in body and "A社" not in body  # counter-only
    assert "counter-1" not in body  # no staff name
    for button in ("受付", "辞退"):
        assert f">{button}</button>" in body
    assert ">受理</button>" not in body  # not allowed before 受付
    (read,) = audit(session, "read")
    assert read.resource_id == str(rid)
    assert set(read.detail["items"]) >= {"client.name", "summary"}
    assert read.detail["basis"].startswith("consent")


def test_each_step_is_the_services_and_the_counter_sees_it(partner, api, made):
    rid = made["houkatsu"]
    for status in ("received", "accepted", "in_progress"):
        moved = step(partner, rid, status, note=f"{status} のメモ")
        assert moved.status_code == 302 and moved.location.endswith(f"/partner/referrals/{rid}")
        assert api.get(f"/api/v1/referrals/{rid}").json["status"] == status
    missing = step(partner, rid, "completed", note="")
    assert missing.status_code == 422
    body = html(missing)
    assert "結果を次から選んでください" in body and 'aria-invalid="true"' in body
    done = step(partner, rid, "completed", outcome="got_help", note="介護保険の申請を支援")
    assert done.status_code == 302
    staff = api.get(f"/api/v1/referrals/{rid}").json
    assert staff["status"] == "completed" and staff["outcome"] == "got_help"
    page = html(partner.get(f"/partner/referrals/{rid}"))
    assert "完了" in page and "支援につながった" in page and "介護保険の申請を支援" in page
    assert "received のメモ" in page  # the partner's own notes in the history
    assert "このつなぎで行える操作はありません" in page


def test_declining_from_the_inbox_needs_a_reason_beside_the_field(partner, api, made):
    rid = made["houkatsu"]
    refused = step(partner, rid, "rejected", origin="inbox", reason="  ")
    assert refused.status_code == 422
    body = html(refused)
    assert "理由を入力してください" in body and "<details open>" in body
    assert f'id="reason-rejected-{rid}-error"' in body
    declined = step(partner, rid, "rejected", origin="inbox", reason="対象地域外のため",
                    note="隣の町の窓口へ")
    assert declined.status_code == 302 and declined.location.endswith("/partner/")
    staff = api.get(f"/api/v1/referrals/{rid}").json
    assert staff["status"] == "rejected"
    assert "辞退" in html(partner.get("/partner/"))


def test_a_step_no_longer_allowed_is_refused_in_japanese(partner, made):
    rid = made["houkatsu"]
    assert step(partner, rid, "received").status_code == 302
    stale = step(partner, rid, "received")
    assert stale.status_code == 409
    assert "可能な次の状態" in html(stale) and 'role="alert"' in html(stale)
    too_long = step(partner, rid, "accepted", note="あ" * 2001)
    assert too_long.status_code == 422 and "2000 文字以内にしてください" in html(too_long)


def test_another_partners_referral_is_the_same_404_as_a_missing_one_on_every_route(
        partner, jiritsu, made, api, session):
    own_jiritsu = made["jiritsu"]
    houkatsu = made["houkatsu"]
    hidden = another_person(api, "佐藤 花子", "サトウ ハナコ", consent=False)
    assert session.get(Referral, hidden).status == "awaiting_consent"
    routes = [
        lambda c, rid: c.get(f"/partner/referrals/{rid}"),
        lambda c, rid: c.get(f"/partner/referrals/{rid}", headers={"HX-Request": "true"}),
        lambda c, rid: step(c, rid, "received"),
        lambda c, rid: step(c, rid, "rejected", origin="inbox", reason="対象外"),
    ]
    for route in routes:
        missing = route(partner, 999999)
        assert missing.status_code == 404
        for rid in (own_jiritsu, hidden):
            other = route(partner, rid)
            assert other.status_code == 404
            assert without_tokens(html(other)) == without_tokens(html(missing))
        # and the other way round: houkatsu's referral is no more jiritsu's
        theirs = route(jiritsu, houkatsu)
        assert theirs.status_code == 404 and "この受信箱にはありません" in html(theirs)
    listed = html(jiritsu.get("/partner/"))
    assert f"番号 {houkatsu}" not in listed and f"番号 {own_jiritsu}" in listed
    fragment = html(jiritsu.get("/partner/", headers=HX))
    assert f"番号 {houkatsu}" not in fragment
    assert session.get(Referral, houkatsu).status == "requested"
    assert session.get(Referral, own_jiritsu).status == "requested"
    denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied",
                                                      AuditEntry.purpose == "partner_inbox"))
    assert {a.resource_id for a in denied} >= {str(own_jiritsu), str(hidden), "999999"}


def test_staff_and_strangers_do_not_reach_the_partner_pages(console, made, app):
    stranger = Console(app.test_client())
    assert stranger.get("/partner/").status_code == 302
    assert stranger.get(f"/partner/referrals/{made['houkatsu']}").status_code == 302
    console.sign_in("suzuki")
    assert console.get("/partner/").status_code == 403
    assert console.get(f"/partner/referrals/{made['houkatsu']}").status_code == 403

