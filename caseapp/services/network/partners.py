"""The partner directory (連携機関): staff read it, admins edit it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.config import Config
from caseapp.domain import signing
from caseapp.models import Area, Partner
from caseapp.models.types import utcnow
from caseapp.services.community import areas
from caseapp.services.core import audit, scope
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid, NotFound
from caseapp.services.core.pagination import Page, paginate
from caseapp.services.core.results import ReadsThrough
from caseapp.services.delivery import netguard

EDITABLE = ("name", "kind", "description", "service_area", "email", "webhook_url",
            "ack_sla_days", "active", "layer")


def listing(session: Session, *, active: bool | None, page: int, per_page: int) -> Page:
    query = select(Partner)
    if active is not None:
        query = query.where(Partner.active.is_(active))
    return paginate(session, query.order_by(Partner.code), page, per_page)


def get(session: Session, code: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise NotFound(f"連携機関コード {code} は登録されていません"
                       f"（no partner with code {code!r}）")
    return partner


@dataclass
class PartnerWritten(ReadsThrough):
    """A partner as saved; ``shown_secret`` is a secret generated now, shown this once."""

    partner: Partner
    shown_secret: str | None


def create(session: Session, actor: Actor, data: dict, config: Config) -> PartnerWritten:
    if session.scalar(select(Partner.id).where(Partner.code == data["code"])):
        raise Conflict(f"連携機関コード {data['code']} は既に使われています"
                       f"（partner {data['code']!r} exists already）",
                       errors={"code": ["このコードは使われています"]})
    partner = Partner(code=data["code"], name=data["name"], kind=data["kind"])
    shown = _apply(partner, data, config)
    _place(session, partner)
    session.add(partner)
    session.flush()
    audit.record(session, actor, "create", "partner", partner.code,
                 detail={"fields": sorted(k for k in data if k != "webhook_secret"),
                         "secret_set": "webhook_secret" in data or shown is not None})
    session.commit()
    return PartnerWritten(partner, shown)


def update(session: Session, actor: Actor, code: str, data: dict,
           config: Config) -> PartnerWritten:
    partner = get(session, code)
    shown = _apply(partner, data, config)
    if "layer" in data:
        _place(session, partner)
    audit.record(session, actor, "update", "partner", partner.code,
                 detail={"fields": sorted(k for k in data if k != "webhook_secret"),
                         "secret_set": "webhook_secret" in data or shown is not None})
    session.commit()
    return PartnerWritten(partner, shown)


def _place(session: Session, partner: Partner) -> None:
    """The area the partner serves follows its layer, from the editor's own municipality (a
    block partner serves that block's municipalities, a prefecture one every municipality)."""
    visible = scope.current(session)
    town_id = visible.own if visible is not None and visible.own is not None \
        else scope.default_municipality(session)
    town = session.get(Area, town_id) if town_id is not None else None
    if town is not None:
        partner.area_id = areas.serving_area(town, partner.layer).id


def _apply(partner: Partner, data: dict, config: Config) -> str | None:
    """Copy the changes; returns a generated secret, which the caller shows once."""
    errors = {}
    url = data.get("webhook_url")
    if url:
        problems = netguard.url_problems(url, config.webhook_allow_private)
        if problems:
            errors["webhook_url"] = problems
    if data.get("webhook_secret"):
        problem = signing.secret_problem(data["webhook_secret"])
        if problem:
            errors["webhook_secret"] = [problem]
    days = data.get("ack_sla_days")
    if days is not None and not 1 <= days <= 60:
        errors["ack_sla_days"] = ["1〜60 日で指定してください"]
    if errors:
        raise Invalid("連携機関の設定に誤りがあります（invalid partner settings）", errors=errors)
    for key in EDITABLE:
        if key in data:
            setattr(partner, key, data[key])
    if "webhook_url" in data:
        # A new (or removed) URL is a new start: an endpoint disabled by 410 is tried again.
        partner.webhook_disabled_at = None
    shown = None
    if "webhook_secret" in data:
        if data["webhook_secret"]:
            partner.webhook_secret = data["webhook_secret"]
        else:  # null asks for a fresh one
            partner.webhook_secret = shown = signing.generate_secret()
    if partner.webhook_url and not partner.webhook_secret:
        partner.webhook_secret = shown = signing.generate_secret()
    partner.updated_at = utcnow()
    return shown
