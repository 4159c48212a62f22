"""Managing users: roles, partner binding, generated passwords, revoking and reinstating."""

import pytest
from sqlalchemy import select

from caseapp.models import AuditEntry, User
from caseapp.services.core import auth, signin, users
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid

PASSWORD = "窓口の合言葉 correct horse"


@pytest.fixture
def admin(seeded):
    user, _token = auth.create_user(seeded, "yamamoto", "admin")
    return Actor(user_id=user.id, name=user.name, role="admin")


def test_a_generated_password_is_shown_once_and_works(seeded, admin):
    written = users.create(seeded, admin, name="ito", role="supervisor")
    assert written.shown_password and len(written.shown_password) >= 12
    assert signin.sign_in(seeded, "ito", written.shown_password).role == "supervisor"
    entry = seeded.scalar(select(AuditEntry).where(AuditEntry.action == "create_user"))
    assert entry.detail == {"role": "supervisor", "partner": None, "area": None,
                            "one_time_password": True}


def test_a_partner_user_needs_a_partner_and_staff_have_none(seeded, admin):
    with pytest.raises(Invalid) as refused:
        users.create(seeded, admin, name="p1", role="partner")
    assert refused.value.errors == {"partner": ["連携先の担当者は、連携先を選んでください"]}
    with pytest.raises(Invalid) as refused:
        users.create(seeded, admin, name="c1", role="counter", partner_code="houkatsu")
    assert "partner" in refused.value.errors
    made = users.create(seeded, admin, name="p1", role="partner", partner_code="houkatsu",
                        password=PASSWORD)
    assert made.user.partner.code == "houkatsu" and made.shown_password is None
    with pytest.raises(Invalid) as refused:
        users.create(seeded, admin, name="has space", role="klingon", password="short")
    assert set(refused.value.errors) == {"name", "role", "password"}
    assert seeded.scalar(select(User).where(User.name == "has space")) is None


def test_revoking_stops_sign_in_until_reinstated(seeded, admin):
    users.create(seeded, admin, name="kato", role="counter", password=PASSWORD)
    session_of_kato = signin.sign_in(seeded, "kato", PASSWORD)
    kato = seeded.scalar(select(User).where(User.name == "kato"))
    assert users.revoke(seeded, admin, kato.id) == 0
    assert signin.resume(seeded, session_of_kato.token, _idle()) is None
    with pytest.raises(signin.SignInFailed):
        signin.sign_in(seeded, "kato", PASSWORD)
    with pytest.raises(Conflict):
        users.reset_password(seeded, admin, kato.id, PASSWORD)
    shown = users.reinstate(seeded, admin, kato.id).shown_password
    assert signin.sign_in(seeded, "kato", shown).name == "kato"


def test_the_last_admin_and_oneself_cannot_be_revoked(seeded, admin):
    with pytest.raises(Conflict, match="自分自身"):
        users.revoke(seeded, admin, admin.user_id)
    other = Actor(user_id=None, name="script", role="admin")
    with pytest.raises(Conflict, match="最後のシステム管理者"):
        users.revoke(seeded, other, admin.user_id)
    second = users.create(seeded, admin, name="kanri2", role="admin").user
    users.revoke(seeded, other, admin.user_id)
    assert not seeded.get(User, admin.user_id).active and seeded.get(User, second.id).active


def _idle():
    from datetime import timedelta

    return timedelta(minutes=30)
