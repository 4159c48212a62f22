"""No-login acknowledgement: a signed, expiring, single-purpose, single-use link."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from caseapp.models import AckLinkUse, AuditEntry, Referral
from caseapp.services.core.errors import NotFound
from caseapp.services.referrals import ack_links
from tests.api.loop_helpers import one_each, walk
from tests.helpers import assert_problem


@pytest.fixture
def link(app, api, session):
    """(referral id, path of a fresh link to it) for houkatsu's referral."""
    rid = one_each(api)["houkatsu"]
    url = ack_links.make_ack_link(session.get(Referral, rid), app.config["CASEAPP"])
    return rid, url.removeprefix("http://caseapp.test")


def test_the_link_is_made_from_the_base_url_and_names_no_person(app, link):
    rid, path = link
    assert path.startswith("/api/v1/ack/")
    token = path.rsplit("/", 1)[1]
    claim = ack_links.verify(token, "test-secret")
    assert claim.referral_id == rid and claim.expires_at - claim.issued_at == timedelta(days=14)
    assert "山田" not in token


def test_opening_the_link_changes_nothing(anon, link, session):
    rid, path = link
    for _ in range(2):  # a mail scanner, then the person
        shown = anon.get(path)
        assert shown.status_code == 200, shown.json
    assert shown.json["status"] == "requested" and shown.json["can_acknowledge"] is True
    assert shown.json["used"] is False and shown.json["partner"] == "地域包括支援センター"
    assert "山田" not in shown.get_data(as_text=True)
    session.expire_all()
    assert session.get(Referral, rid).status == "requested"
    views = session.scalars(select(AuditEntry).where(AuditEntry.action == "ack_link.view"))
    assert [v.resource_id for v in views] == [str(rid), str(rid)]


def test_posting_the_link_marks_received_once(anon, api, tokens, link, session):
    rid, path = link
    done = anon.post(path, headers={"User-Agent": "Thunderbird"})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "received" and done.json["used"] is True
    assert done.json["inbox_url"].endswith(f"/api/v1/partner/referrals/{rid}")
    session.expire_all()
    referral = session.get(Referral, rid)
    assert referral.status == "received"
    assert referral.history[-1].actor_label == "ack-link:houkatsu"
    use = session.scalar(select(AckLinkUse))
    assert use.referral_id == rid and use.user_agent == "Thunderbird"
    again = assert_problem(anon.post(path), 409)
    assert again["current_status"] == "received"
    assert anon.get(path).json["used"] is True
    # The partner sees who acknowledged, and goes on in the inbox.
    houkatsu = api.as_(tokens["partner:houkatsu"])
    history = houkatsu.get(f"/api/v1/partner/referrals/{rid}").json["history"]
    assert history[-1]["by"] == "partner" and history[-1]["status"] == "received"
    walk(houkatsu, rid, "accepted")
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "ack_link.use")
                            .order_by(AuditEntry.id)).all()
    assert [a.outcome for a in audit] == ["success", "refused"]


def test_a_second_link_after_acknowledgement_is_refused_with_the_allowed_steps(
        app, anon, link, session):
    rid, path = link
    anon.post(path)
    fresh = ack_links.make_ack_link(session.get(Referral, rid), app.config["CASEAPP"])
    problem = assert_problem(anon.post(fresh.removeprefix("http://caseapp.test")), 409)
    assert problem["current_status"] == "received" and problem["allowed"] == [
        "accepted", "rejected"]


def test_a_link_to_a_cancelled_referral_does_nothing(anon, api, link, session):
    rid, path = link
    api.post(f"/api/v1/referrals/{rid}/cancel", json={"reason": "取り下げ"})
    assert anon.get(path).json["can_acknowledge"] is False
    assert assert_problem(anon.post(path), 409)["current_status"] == "cancelled"
    assert session.scalar(select(AckLinkUse)) is None


def test_an_expired_link_is_gone(anon, link, session):
    rid, path = link
    with time_machine.travel(datetime.now(UTC) + timedelta(days=14, minutes=1)):
        problem = assert_problem(anon.post(path), 410)
        assert "expired_at" in problem
        assert_problem(anon.get(path), 410)
    session.expire_all()
    assert session.get(Referral, rid).status == "requested"
    denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert len(denied) == 2 and denied[0].actor_role == "anonymous"


@pytest.mark.parametrize("forge", ["tamper", "other_salt", "other_key", "garbage"])
def test_a_forged_or_borrowed_token_is_404(anon, link, session, forge):
    rid, path = link
    token = path.rsplit("/", 1)[1]
    payload = {"r": rid, "p": session.get(Referral, rid).partner_id, "n": "x"}
    forged = {
        "tamper": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        # another signed value of the app (e.g. Flask's session cookie) is not an ack link
        "other_salt": URLSafeTimedSerializer("test-secret", salt="cookie-session").dumps(payload),
        "other_key": URLSafeTimedSerializer("not-our-key", salt=ack_links.SALT).dumps(payload),
        "garbage": "not.a.token",
    }[forge]
    assert_problem(anon.post(f"/api/v1/ack/{forged}"), 404)
    assert_problem(anon.get(f"/api/v1/ack/{forged}"), 404)
    session.expire_all()
    assert session.get(Referral, rid).status == "requested"


def test_a_link_is_bound_to_its_partner(app, api, session):
    ids = one_each(api)
    referral = session.get(Referral, ids["houkatsu"])
    signer = URLSafeTimedSerializer("test-secret", salt=ack_links.SALT)
    wrong = signer.dumps({"r": ids["jiritsu"], "p": referral.partner_id, "n": "n1"})
    with pytest.raises(NotFound):
        ack_links.use(session, wrong, app.config["CASEAPP"])


def test_a_person_gets_a_page_with_one_button(anon, link):
    _rid, path = link
    page = anon.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert '<form method="post">' in text and "地域包括支援センター" in text
    assert "山田" not in text
    done = anon.post(path, headers={"Accept": "text/html"})
    assert done.mimetype == "text/html" and "受理を記録しました" in done.get_data(as_text=True)
    assert "<form" not in done.get_data(as_text=True)
