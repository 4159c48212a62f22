"""The partner directory: staff read, admins write, the webhook secret is shown once."""

from sqlalchemy import select

from caseapp.domain import signing
from caseapp.models import AuditEntry, Partner
from tests.helpers import assert_problem

NEW = {"code": "food_bank", "name": "フードバンク高知", "kind": "food",
       "webhook_url": "https://food.example/hooks/caseapp"}


def test_staff_read_the_directory_without_secrets(api, session):
    partner = session.scalar(select(Partner).where(Partner.code == "houkatsu"))
    partner.webhook_url, partner.webhook_secret = "https://h.example/hook", "whsec_" + "A" * 40
    session.commit()
    listed = api.get("/api/v1/partners?per_page=100")
    assert listed.status_code == 200
    body = listed.json
    assert body["total"] == len(body["items"]) >= 15
    houkatsu = next(p for p in body["items"] if p["code"] == "houkatsu")
    assert houkatsu["has_webhook_secret"] is True and houkatsu["channels"] == ["webhook"]
    assert all("webhook_secret" not in p for p in body["items"])
    assert "A" * 40 not in listed.get_data(as_text=True)


def test_only_admins_write(api, tokens):
    assert_problem(api.post("/api/v1/partners", json=NEW), 403)
    assert_problem(api.as_(tokens["supervisor"]).patch("/api/v1/partners/houkatsu",
                                                       json={"active": False}), 403)
    assert_problem(api.as_(tokens["partner:houkatsu"]).get("/api/v1/partners"), 403)


def test_a_generated_secret_is_returned_once(api, session, tokens):
    admin = api.as_(tokens["admin"])
    created = admin.post("/api/v1/partners", json=NEW)
    assert created.status_code == 201, created.json
    secret = created.json["webhook_secret"]
    assert signing.secret_problem(secret) is None
    stored = session.scalar(select(Partner).where(Partner.code == "food_bank"))
    assert stored.webhook_secret == secret
    assert secret not in admin.get("/api/v1/partners?per_page=100").get_data(as_text=True)
    # A later change that does not touch the secret does not show it again.
    patched = admin.patch("/api/v1/partners/food_bank", json={"ack_sla_days": 2})
    assert patched.json["webhook_secret"] is None and patched.json["ack_sla_days"] == 2
    # null asks for a new secret; a given one is stored and not echoed.
    rotated = admin.patch("/api/v1/partners/food_bank", json={"webhook_secret": None}).json
    assert rotated["webhook_secret"] not in (None, secret)
    mine = signing.generate_secret()
    given = admin.patch("/api/v1/partners/food_bank", json={"webhook_secret": mine}).json
    assert given["webhook_secret"] is None
    session.refresh(stored)
    assert stored.webhook_secret == mine
    audit = session.scalars(select(AuditEntry).where(AuditEntry.resource_type == "partner"))
    assert all(mine not in str(a.detail) for a in audit)


def test_bad_partner_input_is_422_per_field(api, session, tokens):
    admin = api.as_(tokens["admin"])
    body = assert_problem(admin.post("/api/v1/partners", json={
        **NEW, "code": "Food Bank!", "webhook_url": "ftp://food.example/",
        "webhook_secret": "secret", "email": "not-an-address"}), 422)
    assert {"code", "email"} <= set(body["errors"])
    body = assert_problem(admin.post("/api/v1/partners", json={
        **NEW, "webhook_url": "ftp://food.example/", "webhook_secret": "secret"}), 422)
    assert {"webhook_url", "webhook_secret"} <= set(body["errors"])
    assert_problem(admin.post("/api/v1/partners", json={**NEW, "code": "houkatsu"}), 409)
    assert_problem(admin.patch("/api/v1/partners/nowhere", json={"active": False}), 404)
    assert session.scalar(select(Partner).where(Partner.code == "food_bank")) is None


def test_a_new_url_re_enables_an_endpoint_disabled_by_410(api, session, tokens):
    from caseapp.models.types import utcnow

    partner = session.scalar(select(Partner).where(Partner.code == "houkatsu"))
    partner.webhook_url, partner.webhook_secret = "https://old.example/hook", "whsec_" + "A" * 40
    partner.webhook_disabled_at = utcnow()
    session.commit()
    assert partner.channels() == ["inbox"]
    patched = api.as_(tokens["admin"]).patch("/api/v1/partners/houkatsu",
                                             json={"webhook_url": "https://new.example/hook"})
    assert patched.status_code == 200
    assert patched.json["webhook_disabled_at"] is None and patched.json["channels"] == ["webhook"]


def test_staff_read_one_partner_without_its_secret(api, tokens):
    shown = api.get("/api/v1/partners/houkatsu")
    assert shown.status_code == 200, shown.json
    assert shown.json["code"] == "houkatsu" and shown.json["name"] == "地域包括支援センター"
    assert "webhook_secret" not in shown.json and "has_webhook_secret" in shown.json
    assert_problem(api.get("/api/v1/partners/nowhere"), 404)
    assert_problem(api.as_(tokens["partner:houkatsu"]).get("/api/v1/partners/houkatsu"), 403)
