"""/admin/users, /admin/partners, /admin/rules and /audit: what an administrator and a
supervisor do on screen, through the same services as the API, each step audited."""

import copy
import re

import pytest
import yaml
from sqlalchemy import select

from caseapp import rules
from caseapp.models import ApiToken, AuditEntry, Partner, RuleSetVersion, User
from caseapp.services.core import auth, signin
from caseapp.services.core.actors import Actor
from caseapp.services.intake import consultations
from tests.helpers import EXAMPLE
from tests.web.console import PASSWORD, Console

NEW_PASSWORD = "新しい合言葉 battery staple"


@pytest.fixture
def admin(app, people, session):
    auth.create_user(session, "yamamoto", "admin")
    signin.set_password(session, "yamamoto", PASSWORD)
    console = Console(app.test_client())
    console.sign_in("yamamoto")
    return console


def _text(response) -> str:
    return response.get_data(as_text=True)


def _audit(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))


# ---- users ---------------------------------------------------------------------------------

def test_only_admins_open_the_admin_pages(console, app):
    console.sign_in("sato")  # a supervisor
    for path in ("/admin/users", "/admin/partners", "/admin/rules"):
        assert console.get(path).status_code == 403, path
    assert console.get("/audit").status_code == 200
    counter = Console(app.test_client())
    counter.sign_in("suzuki")
    assert counter.get("/audit").status_code == 403
    assert "監査ログ" not in _text(counter.get("/"))  # nor in the menu


def test_an_admin_creates_a_user_who_can_then_sign_in(admin, app, session):
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "利用者の管理" in _text(page)
    response = admin.post("/admin/users", {"name": "takahashi", "role": "counter",
                                           "password": NEW_PASSWORD}, token_from="/admin/users")
    assert response.status_code == 303
    assert "takahashi" in _text(admin.get("/admin/users"))
    user = session.scalar(select(User).where(User.name == "takahashi"))
    assert user.role == "counter" and user.partner_id is None
    assert Console(app.test_client()).sign_in("takahashi", NEW_PASSWORD).location == "/"
    created = _audit(session, "create_user")[-1]
    assert created.actor_label == "yamamoto" and created.resource_id == str(user.id)


def test_a_refused_user_form_answers_422_beside_the_fields(admin, session):
    response = admin.post("/admin/users", {"name": "suzuki", "role": "partner",
                                           "password": "short"}, token_from="/admin/users")
    assert response.status_code == 422
    page = _text(response)
    assert "この利用者名は既に使われています" in page
    assert "連携先の担当者は、連携先を選んでください" in page
    assert "12 文字以上にしてください" in page
    assert 'aria-invalid="true"' in page


def test_a_partner_user_is_bound_to_a_partner_and_gets_a_one_time_password(admin, app, session):
    response = admin.post("/admin/users", {"name": "jiritsu-mori", "role": "partner",
                                           "partner": "jiritsu"}, token_from="/admin/users")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    shown = re.search(r'<code class="admin-code">([^<]+)</code>', _text(response)).group(1)
    user = session.scalar(select(User).where(User.name == "jiritsu-mori"))
    assert user.partner.code == "jiritsu"
    assert shown not in str(_audit(session, "create_user")[-1].detail)
    partner_side = Console(app.test_client())
    assert partner_side.sign_in("jiritsu-mori", shown).location == "/partner/"


def test_resetting_a_password_ends_the_users_sessions(admin, app, session):
    suzuki = Console(app.test_client())
    suzuki.sign_in("suzuki")
    assert suzuki.get("/").status_code == 200
    user_id = session.scalar(select(User.id).where(User.name == "suzuki"))
    response = admin.post(f"/admin/users/{user_id}/password", {"password": NEW_PASSWORD},
                          token_from="/admin/users")
    assert response.status_code == 303
    assert suzuki.get("/").location.startswith("/login")
    assert Console(app.test_client()).sign_in("suzuki", NEW_PASSWORD).location == "/"
    assert _audit(session, "set_password")[-1].actor_label == "yamamoto"
    # A password too short is refused beside that user's row.
    response = admin.post(f"/admin/users/{user_id}/password", {"password": "short"},
                          token_from="/admin/users")
    assert response.status_code == 422 and "12 文字以上にしてください" in _text(response)


def test_revoking_ends_tokens_and_sessions_and_stops_sign_in(admin, app, session):
    user, token = auth.create_user(session, "kato", "counter")
    signin.set_password(session, "kato", PASSWORD)
    kato = Console(app.test_client())
    kato.sign_in("kato")
    response = admin.post(f"/admin/users/{user.id}/revoke", token_from="/admin/users")
    assert response.status_code == 303
    assert "kato の利用を止めました" in _text(admin.get("/admin/users"))
    assert kato.get("/").location.startswith("/login")
    assert app.test_client().get("/api/v1/partners", headers={
        "Authorization": f"Bearer {token}"}).status_code == 401
    assert session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == user.id))
    assert Console(app.test_client()).sign_in("kato").status_code == 422
    revoked = _audit(session, "revoke")[-1]
    assert revoked.detail == {"tokens": 1, "sessions": 1}
    # Reinstated with a new password, kato signs in again.
    admin.post(f"/admin/users/{user.id}/password", {"password": NEW_PASSWORD, "reinstate": "1"},
               token_from="/admin/users")
    assert Console(app.test_client()).sign_in("kato", NEW_PASSWORD).location == "/"


def test_an_admin_cannot_revoke_themselves(admin, session):
    me = session.scalar(select(User.id).where(User.name == "yamamoto"))
    response = admin.post(f"/admin/users/{me}/revoke", token_from="/admin/users")
    assert response.status_code == 409
    assert "自分自身の利用は止められません" in _text(response)
    assert session.get(User, me).active


# ---- partners ------------------------------------------------------------------------------

def test_partner_settings_are_saved_and_refused_in_japanese(admin, session):
    page = admin.get("/admin/partners")
    assert page.status_code == 200 and "地域包括支援センター" in _text(page)
    response = admin.post("/admin/partners/houkatsu",
                          {"ack_sla_days": "0", "email": "", "webhook_url": "ftp://x",
                           "active": "1"}, token_from="/admin/partners/houkatsu")
    assert response.status_code == 422
    assert "1〜60 日で指定してください" in _text(response)
    assert "https:// の URL を指定してください" in _text(response)
    response = admin.post("/admin/partners/houkatsu",
                          {"ack_sla_days": "5", "email": "houkatsu@example.jp",
                           "webhook_url": "", "active": "1"},
                          token_from="/admin/partners/houkatsu")
    assert response.status_code == 303
    partner = session.scalar(select(Partner).where(Partner.code == "houkatsu"))
    session.refresh(partner)
    assert partner.ack_sla_days == 5 and partner.email == "houkatsu@example.jp"


def test_the_test_send_shows_the_partners_answer(admin, session, sink):
    response = admin.post("/admin/partners/jiritsu",
                          {"ack_sla_days": "3", "webhook_url": sink.url, "active": "1"},
                          token_from="/admin/partners/jiritsu")
    assert response.status_code == 200 and "署名鍵を作りました" in _text(response)
    response = admin.post("/admin/partners/jiritsu/test", token_from="/admin/partners/jiritsu",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = _text(response)
    assert "届きました" in page and "HTTP 204" in page and "ミリ秒" in page
    received = sink.received[-1]
    assert received.headers["webhook-signature"].startswith("v1,")
    assert b"caseapp.test" in received.body
    entry = _audit(session, "webhook_test")[-1]
    assert entry.resource_id == "jiritsu" and entry.outcome == "success"
    assert entry.detail["status"] == 204

    sink.respond = lambda _r, _n: (503, {})
    page = _text(admin.post("/admin/partners/jiritsu/test",
                            token_from="/admin/partners/jiritsu"))
    assert "届きませんでした" in page and "サーバーでエラーが起きました（HTTP 503）" in page
    assert _audit(session, "webhook_test")[-1].outcome == "failure"


def test_a_test_send_without_a_url_says_so(admin):
    response = admin.post("/admin/partners/houterasu/test",
                          token_from="/admin/partners/houterasu",
                          headers={"HX-Request": "true"})
    assert "先に Webhook の URL を保存してください" in _text(response)


# ---- rules ---------------------------------------------------------------------------------

def _changed_rules() -> str:
    """The shipped set with one change: the elderly no longer go to 地域包括."""
    data = copy.deepcopy(rules.nankoku_ruleset_data())
    data["rules"] = [r for r in data["rules"] if r["id"] != "elderly"]
    data["version"] = "nankoku-2026.2"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _consultation(session):
    actor = Actor(user_id=None, name="suzuki", role="counter")
    return consultations.record(session, actor, {**EXAMPLE, "consent": None,
                                                 "client": None}).consultation


def test_a_broken_rule_file_is_shown_by_rule_and_field(admin, session):
    data = copy.deepcopy(rules.nankoku_ruleset_data())
    data["rules"][0]["then"]["partners"] = ["no_such_partner"]
    text = yaml.safe_dump(data, allow_unicode=True)
    response = admin.post("/admin/rules/preview", {"text": text, "months": "6"},
                          token_from="/admin/rules")
    assert response.status_code == 422
    page = _text(response)
    assert "ルールに問題があります" in page and "no_such_partner" in page
    assert re.search(r"<td>emergency</td><td><code>then\.partners", page)
    assert "採用する</button>" not in page
    response = admin.post("/admin/rules/preview", {"text": "rules: [", "months": "6"},
                          token_from="/admin/rules")
    assert response.status_code == 422 and "cannot read YAML" in _text(response)


def test_preview_adopt_and_adopt_an_earlier_version_again(admin, session):
    elderly = _consultation(session)
    response = admin.post("/admin/rules/preview", {"text": _changed_rules(), "months": "3"},
                          token_from="/admin/rules")
    assert response.status_code == 200
    page = _text(response)
    assert "相談 1 件のうち、<strong>1 件</strong>のつなぎ先が変わります" in page
    assert re.search(r"<th scope=\"row\">houkatsu</th><td>1</td><td>0</td>", page)
    assert f"<td>{elderly.id}</td>" in page
    replayed = _audit(session, "replay")[-1]
    assert replayed.detail["consultations"] == [elderly.id]

    response = admin.post("/admin/rules/adopt", {"text": _changed_rules()},
                          token_from="/admin/rules")
    assert response.status_code == 303
    page = _text(admin.get("/admin/rules"))
    assert "第 2 版として採用しました" in page
    assert re.search(r"第 2 版（使用中）</th>\s*<td>[^<]+</td>\s*<td>yamamoto</td>", page)
    routed = _consultation(session)
    assert routed.ruleset_version == 2
    assert "houkatsu" not in {r.partner.code for r in routed.referrals}

    response = admin.post("/admin/rules/versions/1/adopt", token_from="/admin/rules")
    assert response.status_code == 303
    page = _text(admin.get("/admin/rules"))
    assert "第 1 版を第 3 版として採用し直しました" in page
    assert "第 1 版の再採用" in page
    assert session.scalar(select(RuleSetVersion.source).where(RuleSetVersion.version == 3)) \
        == session.scalar(select(RuleSetVersion.source).where(RuleSetVersion.version == 1))
    assert [e.resource_id for e in _audit(session, "update")
            if e.resource_type == "ruleset"] == ["2", "3"]


# ---- audit ---------------------------------------------------------------------------------

def test_the_audit_log_filters_and_its_every_view_is_audited(console, session):
    console.sign_in("sato")
    response = console.get("/audit?actor=suzuki")
    assert response.status_code == 200
    page = _text(response)
    assert "監査ログ" in page and "suzuki" in page
    response = console.get("/audit?actor=sato&from=令和8年11月1日&to=2099-01-01")
    assert response.status_code == 200 and "サインイン" in _text(response)
    views = [e for e in _audit(session, "list") if e.resource_type == "audit"]
    assert len(views) == 2
    assert views[0].detail == {"actor": "suzuki"} and views[1].actor_label == "sato"
    response = console.get("/audit?from=あした&person=x")
    assert response.status_code == 422
    assert "日付の形式が正しくありません" in _text(response)
    assert "相談者の番号を半角数字で入力してください" in _text(response)


def test_the_audit_log_filters_by_person(console, session):
    from caseapp.models import Client
    from caseapp.services.core import audit

    # Records of the supervisor's own town: the audit log shows what concerns its people.
    first, second = (Client(name=n, search_key=n) for n in ("監査 一", "監査 二"))
    session.add_all([first, second])
    session.flush()
    actor = Actor(user_id=None, name="suzuki", role="counter")
    audit.record(session, actor, "read", "client", first.id)
    audit.record(session, actor, "read", "client", second.id)
    session.commit()
    console.sign_in("sato")
    page = _text(console.get(f"/audit?person={first.id}"))
    assert f"client {first.id}" in page and f"client {second.id}" not in page
