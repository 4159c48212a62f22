"""The 紹介状 (referral letter): printed at the counter, handed to the person or posted.

What it says of the person is exactly the partner's view of the referral
(caseapp.domain.partner_view: what the legal basis allows now), so a letter never shows more
than the partner's inbox would. Producing one is a disclosure to the partner: it is written to
the disclosure log (§29) with the items printed and audited, in the transaction that also
stores the letter's acknowledgement code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from caseapp.config import Config
from caseapp.domain import ack_codes, ack_tokens, partner_view
from caseapp.domain.vocab import LegalBasis, ReferralStatus
from caseapp.jp.phone import format_phone
from caseapp.jp.wareki import format_wareki
from caseapp.models import AckCode, Case, Client, Consultation, Disclosure, Referral
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.rules.vocab import TOPICS
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict
from caseapp.services.core.lookup import not_found
from caseapp.services.referrals import letter_pdf

PURPOSE = "referral_letter"
CHANNEL = "letter"
FORM_PATH = "/ack"
# A finished or withdrawn referral gets no letter; a failed one may: paper is the fallback.
PRINTABLE = (ReferralStatus.REQUESTED, ReferralStatus.SENT, ReferralStatus.RECEIVED,
             ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.FAILED)

BASIS_LABELS = {
    LegalBasis.CONSENT: "ご本人の同意",
    LegalBasis.LIFE_SAFETY: "人の生命・身体・財産の保護のため（個人情報保護法 第27条第1項第2号）",
    LegalBasis.SUPPORT_MEETING: "支援会議における情報共有",
    LegalBasis.ANONYMOUS: "匿名のご相談（個人を特定する情報はありません）",
    LegalBasis.USE_STOPPED: "利用停止中（ご本人の情報は記載していません）",
}
URGENCY = {"normal": "通常", "urgent": "至急", "emergency": "緊急"}
WITHHELD = {"client": "お名前", "contact": "連絡先", "summary": "相談の概要"}

_LOAD = (
    selectinload(Referral.partner),
    selectinload(Referral.case).selectinload(Case.client).selectinload(Client.consents),
    selectinload(Referral.consultation).selectinload(Consultation.topic_rows),
)


@dataclass(frozen=True)
class Letter:
    referral_id: int
    pdf: bytes
    code: str
    ack_url: str
    fields: list[str]

    @property
    def filename(self) -> str:
        return f"referral-letter-{self.referral_id}.pdf"


def produce(session: Session, actor: Actor, referral_id: int, config: Config, *,
            now: datetime | None = None) -> Letter:
    """A new letter for the referral, with a fresh acknowledgement link and code."""
    now = now or utcnow()
    referral = session.scalar(select(Referral).where(Referral.id == referral_id)
                              .options(*_LOAD))
    if referral is None:
        raise not_found("referral", referral_id)
    if not partner_view.is_visible(referral) or referral.status not in PRINTABLE:
        audit.record(session, actor, "letter", "referral", referral.id, purpose=PURPOSE,
                     outcome="refused", detail={"status": referral.status})
        session.commit()
        raise Conflict(_refusal(referral), extra={"referral_status": referral.status})
    view, disclosed = partner_view.build(referral, detail=True, now=now)
    nonce = ack_tokens.new_nonce()
    token = ack_tokens.make_token(referral.id, referral.partner_id, config.secret_key,
                                  nonce=nonce, lifetime=ack_tokens.LETTER_MAX_AGE)
    row = _store_code(session, referral, nonce, actor, now)
    url = ack_tokens.link(config.base_url, token)
    pdf = letter_pdf.render(document(view, referral.partner.name, actor, config, now=now,
                                     code=row.code, ack_url=url, expires_at=row.expires_at))
    client = referral.case.client
    # 個人情報保護法 §29: the items printed, to whom, on what basis, by whom.
    session.add(Disclosure(at=now, referral_id=referral.id, client_id=client.id if client else None,
                           partner_id=referral.partner_id, channel=CHANNEL,
                           actor_id=actor.user_id, actor_label=actor.label, fields=disclosed,
                           basis=referral.legal_basis))
    audit.record(session, actor, "disclose", "referral", referral.id, purpose=PURPOSE,
                 detail={"partner_id": referral.partner_id, "channel": CHANNEL,
                         "fields": disclosed, "basis": referral.legal_basis,
                         "client_id": client.id if client else None,
                         "ack_code_id": row.id})
    session.commit()
    return Letter(referral.id, pdf, row.code, url, disclosed)


def print_bytes(session: Session, actor: Actor, referral_id: int, config: Config) -> bytes:
    """The letter's PDF for a print button (the console's case page); logged as ``produce``."""
    return produce(session, actor, referral_id, config).pdf


def _refusal(referral: Referral) -> str:
    if not partner_view.is_visible(referral):
        return ("同意などの提供の根拠がまだないため、紹介状は作成できません"
                "（no legal basis to disclose yet）")
    return (f"このつなぎは {referral.status} のため、紹介状は作成できません"
            f"（no letter for a {referral.status} referral）")


def _store_code(session: Session, referral: Referral, nonce: str, actor: Actor,
                now: datetime) -> AckCode:
    # About 8.5e11 codes: a clash is rare, and the unique index catches it.
    for _attempt in range(5):
        row = AckCode(code=ack_codes.generate(), nonce=nonce, referral_id=referral.id,
                      created_at=now, expires_at=now + ack_tokens.LETTER_MAX_AGE,
                      created_by_id=actor.user_id)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        return row
    raise RuntimeError("could not find a free acknowledgement code")


def document(view: dict, partner: str, actor: Actor, config: Config, *, now: datetime,
             code: str, ack_url: str, expires_at: datetime) -> dict:
    """The letter's texts from the partner view: a row only for what the view shows."""
    rows = []
    client = view["client"]
    if client:
        rows += [("お名前", client["name"]), ("フリガナ", client["name_kana"])]
    contact = view.get("contact")
    if contact:
        rows += [("電話番号", format_phone(contact["phone"]) if contact["phone"] else None),
                 ("住所", " ".join(v for v in ("〒" + contact["postal_code"]
                                               if contact["postal_code"] else None,
                                               contact["address"]) if v))]
    if view["topics"]:
        rows.append(("相談の分野", "、".join(TOPICS.get(t, t) for t in view["topics"])))
    if view.get("summary"):
        rows.append(("相談の概要", view["summary"]))
    rows += [("ご紹介の理由", view["reason"]),
             ("緊急度", URGENCY.get(view["urgency"], view["urgency"])),
             ("情報提供の根拠", BASIS_LABELS.get(view["basis"], "—"))]
    withheld = [WITHHELD[item] for item in view["withheld"] if item in WITHHELD]
    note = (f"情報提供の根拠の範囲外のため、{'・'.join(withheld)}は記載していません。"
            if withheld else "")
    return {
        "referral_id": view["id"],
        "date": format_wareki(now.astimezone(TOKYO).date()),
        "partner": partner,
        "sender": {"counter": config.counter_name, "staff": actor.name,
                   "contact": config.counter_contact},
        "rows": [(label, value) for label, value in rows if value],
        "withheld_note": note,
        "ack": {"url": ack_url, "code": ack_codes.display(code),
                "form_url": f"{config.base_url}{FORM_PATH}",
                "expires": format_wareki(expires_at.astimezone(TOKYO).date())},
    }
