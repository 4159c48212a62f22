"""開示 (個人情報保護法 §33): everything held about one person, as one document.

The file holds the person's record (and every record merged into it), the corrections made to
it, consultations, cases, referrals with their history, consents, stops of use, the records
of provision to third parties (§33(5): what each partner was given, when, on what basis), and
who at the counter read the person's data and when. Producing it is itself audited.

Times are Asia/Tokyo; codes come with their Japanese labels so the PDF can be handed over.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from caseapp.domain.community import BASIS_LABELS, MEETING_LABELS
from caseapp.domain.legal_basis import SUPPORT_MEETING_LAWS, basis_kind
from caseapp.models import (
    AuditEntry,
    Case,
    Client,
    Consent,
    Consultation,
    Disclosure,
    Meeting,
    Partner,
    Referral,
    SupportMeeting,
    User,
    WatchDisclosure,
)
from caseapp.models.rights import UseStop
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.rules.vocab import TOPICS
from caseapp.services.clients.records import live_client
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor

PURPOSE = "rights_33"
STAFF_ROLES = ("counter", "supervisor", "admin")
CHANNELS = {"window": "窓口", "phone": "電話", "visit": "訪問", "outreach": "アウトリーチ",
            "event": "相談会"}
METHODS = {"info_only": "情報提供", "intro_letter": "紹介状", "accompany": "同行",
           "formal_request": "支援要請"}
STATUSES = {
    "awaiting_consent": "同意待ち", "requested": "送付待ち", "sent": "送付済み",
    "received": "受領", "accepted": "受理", "in_progress": "対応中", "rejected": "不受理",
    "completed": "完了", "cancelled": "取消", "failed": "送付失敗",
    "open": "対応中", "closed": "終結",
}
DELIVERY_CHANNELS = {"webhook": "システム連携（Webhook）", "email": "電子メール（通知のみ）",
                     "inbox": "連携機関受信箱", "letter": "紹介状（印刷）",
                     "watch_sheet": "見守りの会議資料（印刷）"}
ACTIONS = {"read": "閲覧", "create": "登録", "update": "訂正・更新", "search": "検索",
           "list": "一覧表示", "merge": "名寄せ（統合）", "merged_into": "統合された",
           "export": "開示ファイルの作成", "stop_use": "利用停止", "resume_use": "利用停止の解除",
           "anonymise": "匿名化", "disclose": "第三者提供", "withdraw": "同意の撤回",
           "duplicates": "重複候補の確認", "cancel": "つなぎの取消", "retry": "再送",
           "handled": "対応済み"}
CLIENT_ITEMS = {"name": "氏名", "name_kana": "フリガナ", "birth_date": "生年月日", "sex": "性別",
                "phone": "電話番号", "postal_code": "郵便番号", "address": "住所",
                "district": "地区", "small_area": "小地域"}


def tokyo(value: datetime | None) -> str | None:
    return value.astimezone(TOKYO).isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def basis_label(basis: str | None) -> str | None:
    """A recorded legal basis in words a person can read."""
    if not basis:
        return None
    kind, _, number = basis.partition(":")
    if kind == "consent":
        return f"ご本人の同意（同意記録 No. {number}）"
    if kind == "life_safety":
        return "人の生命・身体・財産の保護のため（個人情報保護法 第27条第1項第2号）"
    if kind == "support_meeting":
        return f"支援会議における情報共有（記録 No. {number}）" if number else "支援会議"
    if kind == "anonymous":
        return "匿名の相談（個人を特定する情報なし）"
    return basis


def collect(session: Session, actor: Actor, client_id: int, *, form: str = "json",
            now: datetime | None = None) -> dict:
    """The disclosure file for one person (audited as ``export``)."""
    now = now or utcnow()
    client = live_client(session, client_id)
    merged = list(session.scalars(select(Client).where(Client.merged_into_id == client.id)
                                  .order_by(Client.id)))
    ids = [client.id, *(m.id for m in merged)]
    staff = _staff_names(session)

    cases = list(session.scalars(select(Case).where(Case.client_id.in_(ids)).order_by(Case.id)))
    case_ids = [c.id for c in cases]
    consultations = list(session.scalars(
        select(Consultation).where(or_(Consultation.client_id.in_(ids),
                                       Consultation.case_id.in_(case_ids or [-1])))
        .order_by(Consultation.received_at, Consultation.id)))
    referrals = list(session.scalars(select(Referral).where(Referral.case_id.in_(case_ids or [-1]))
                                     .order_by(Referral.id)))
    referral_ids = [r.id for r in referrals]
    partners = {p.id: p for p in session.scalars(select(Partner))}

    document = {
        "title": "保有個人データ開示書（個人情報保護法 第33条）",
        "produced_at": tokyo(now),
        "produced_by": {"name": actor.label, "role": actor.role},
        "client_id": client.id,
        "records": [_person(c) for c in (client, *merged)],
        "corrections": _corrections(session, ids),
        "household": _household(client),
        "cases": [_case(c, staff) for c in cases],
        "consultations": [_consultation(c) for c in consultations],
        "referrals": [_referral(r, staff) for r in referrals],
        "consents": [_consent(c) for c in session.scalars(
            select(Consent).where(Consent.client_id.in_(ids)).order_by(Consent.id))],
        "support_meetings": [_meeting(m) for m in session.scalars(
            select(SupportMeeting).where(SupportMeeting.case_id.in_(case_ids or [-1]))
            .order_by(SupportMeeting.id))],
        "use_stops": [_stop(s, staff) for s in session.scalars(
            select(UseStop).where(UseStop.client_id.in_(ids)).order_by(UseStop.id))],
        "provisions": _provisions(session, ids, referral_ids, partners),
        "access_log": _access_log(session, ids, case_ids, [c.id for c in consultations],
                                  referral_ids),
    }
    audit.record(session, actor, "export", "client", client.id, purpose=PURPOSE,
                 detail={"format": form, "records": ids,
                         "sections": sorted(k for k, v in document.items()
                                            if isinstance(v, list) and v)})
    session.commit()
    return document


def _staff_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.name)).all())


def _person(client: Client) -> dict:
    return {
        "id": client.id,
        "name": client.name if client.anonymised_at is None else None,
        "name_kana": client.name_kana,
        "birth_date": _day(client.birth_date),
        "sex": client.sex,
        "phone": client.phone,
        "postal_code": client.postal_code,
        "address": client.address,
        "district": client.district,
        "small_area": client.small_area,
        "registered_at": tokyo(client.created_at),
        "updated_at": tokyo(client.updated_at),
        "merged_into": client.merged_into_id,
        "merged_at": tokyo(client.merged_at),
        "anonymised_at": tokyo(client.anonymised_at),
    }


def _corrections(session: Session, ids: list[int]) -> list[dict]:
    """訂正 (§34) as the audit log recorded them: which items changed, when, by whom."""
    rows = session.scalars(select(AuditEntry).where(
        AuditEntry.resource_type == "client", AuditEntry.resource_id.in_([str(i) for i in ids]),
        AuditEntry.action.in_(("update", "merge")), AuditEntry.outcome == "success")
        .order_by(AuditEntry.id))
    out = []
    for entry in rows:
        detail = entry.detail or {}
        fields = detail.get("fields") if entry.action == "update" else detail.get("filled")
        if entry.action == "update" and not fields:
            continue
        out.append({"at": tokyo(entry.at), "record": int(entry.resource_id),
                    "kind": "correction" if entry.action == "update" else "merge",
                    "items": [{"code": f, "label": CLIENT_ITEMS.get(f, f)} for f in fields or []],
                    "merged_record": detail.get("merged") if entry.action == "merge" else None,
                    "by": entry.actor_label, "role": entry.actor_role})
    return out


def _household(client: Client) -> dict | None:
    member = client.membership
    if member is None:
        return None
    # Only the person's own place in it: the other members' data is theirs to ask for.
    return {"household_id": member.household_id, "relationship": member.relationship,
            "relationship_label": member.relationship_label, "since": tokyo(member.added_at)}


def _case(case: Case, staff: dict[int, str]) -> dict:
    return {"id": case.id, "status": case.status, "status_label": STATUSES.get(case.status),
            "opened_at": tokyo(case.created_at), "closed_at": tokyo(case.closed_at),
            "owner": staff.get(case.owner_id), "next_action": case.next_action,
            "next_action_at": tokyo(case.next_action_at)}


def _consultation(consultation: Consultation) -> dict:
    return {
        "id": consultation.id, "case_id": consultation.case_id,
        "received_at": tokyo(consultation.received_at),
        "channel": consultation.channel, "channel_label": CHANNELS.get(consultation.channel),
        "event": consultation.event.name if consultation.event is not None else None,
        "topics": [{"code": t, "label": TOPICS.get(t, t)} for t in consultation.topics],
        "urgency": consultation.urgency, "summary": consultation.summary,
        "facts": consultation.facts or {},
        "team": ({"outcome": consultation.team.outcome, "note": consultation.team.note,
                  "partners": consultation.team.partners}
                 if getattr(consultation, "team", None) is not None else None),
    }


def _referral(referral: Referral, staff: dict[int, str]) -> dict:
    return {
        "id": referral.id, "case_id": referral.case_id,
        "partner": {"code": referral.partner.code, "name": referral.partner.name},
        "reason": referral.reason, "method": referral.method,
        "method_label": METHODS.get(referral.method), "status": referral.status,
        "status_label": STATUSES.get(referral.status),
        "legal_basis": basis_kind(referral.legal_basis),
        "legal_basis_label": basis_label(referral.legal_basis),
        "created_at": tokyo(referral.created_at), "sent_at": tokyo(referral.sent_at),
        "completed_at": tokyo(referral.completed_at), "outcome": referral.outcome,
        "outcome_note": referral.outcome_note,
        "history": [{"at": tokyo(e.at), "from": e.from_status, "to": e.to_status,
                     "to_label": STATUSES.get(e.to_status),
                     "by": staff.get(e.actor_id) if e.actor_id else e.actor_label,
                     "note": e.note} for e in referral.history],
    }


def _consent(consent: Consent) -> dict:
    return {"id": consent.id, "scope": consent.scope, "partners": consent.partners or [],
            "purposes": consent.purposes or [], "covers_sensitive": consent.covers_sensitive,
            "method": consent.method, "given_at": tokyo(consent.given_at),
            "expires_at": tokyo(consent.expires_at), "withdrawn_at": tokyo(consent.withdrawn_at)}


def _meeting(meeting: SupportMeeting) -> dict:
    return {"id": meeting.id, "case_id": meeting.case_id, "law": meeting.law,
            "law_label": SUPPORT_MEETING_LAWS.get(meeting.law),
            "meeting_date": _day(meeting.meeting_date), "partners": meeting.partners or []}


def _stop(stop: UseStop, staff: dict[int, str]) -> dict:
    return {"id": stop.id, "stopped_at": tokyo(stop.stopped_at),
            "stopped_by": staff.get(stop.stopped_by_id), "reason": stop.reason,
            "lifted_at": tokyo(stop.lifted_at), "lifted_by": staff.get(stop.lifted_by_id),
            "lift_reason": stop.lift_reason}


def _provisions(session: Session, ids: list[int], referral_ids: list[int],
                partners: dict[int, Partner]) -> list[dict]:
    """第三者提供の記録: sends (the disclosure log) and partner reads (the audit log)."""
    out = []
    for row in session.scalars(select(Disclosure).where(
            or_(Disclosure.client_id.in_(ids), Disclosure.referral_id.in_(referral_ids or [-1])))
            .order_by(Disclosure.at, Disclosure.id)):
        partner = partners.get(row.partner_id)
        out.append({"at": tokyo(row.at), "kind": "sent", "referral_id": row.referral_id,
                    "partner": {"code": partner.code, "name": partner.name} if partner else None,
                    "channel": row.channel, "channel_label": DELIVERY_CHANNELS.get(row.channel),
                    "items": list(row.fields or []), "basis": basis_kind(row.basis),
                    "basis_label": basis_label(row.basis), "by": row.actor_label})
    by_user = {u.id: u.partner_id for u in session.scalars(
        select(User).where(User.partner_id.is_not(None)))}
    reads = session.scalars(select(AuditEntry).where(
        AuditEntry.resource_type == "referral",
        AuditEntry.resource_id.in_([str(i) for i in referral_ids] or ["-"]),
        AuditEntry.purpose == "partner_inbox", AuditEntry.outcome == "success")
        .order_by(AuditEntry.id))
    for entry in reads:
        detail = entry.detail or {}
        personal = [i for i in detail.get("items") or [] if i.startswith(("client.", "contact."))
                    or i == "summary"]
        if not personal:
            continue  # the partner saw the referral but nothing of the person
        partner = partners.get(detail.get("partner_id") or by_user.get(entry.actor_id))
        out.append({"at": tokyo(entry.at), "kind": "partner_read",
                    "referral_id": int(entry.resource_id),
                    "partner": {"code": partner.code, "name": partner.name} if partner else None,
                    "channel": "inbox", "channel_label": DELIVERY_CHANNELS["inbox"],
                    "items": personal, "basis": basis_kind(detail.get("basis")),
                    "basis_label": basis_label(detail.get("basis")), "by": None})
    out.extend(_watch_sheets(session, ids))
    out.sort(key=lambda item: item["at"])
    return out


def _watch_sheets(session: Session, ids: list[int]) -> list[dict]:
    """Each printed meeting sheet that carried the person: to the members at that table."""
    out = []
    for row, meeting in session.execute(
            select(WatchDisclosure, Meeting).join(Meeting, Meeting.id == WatchDisclosure.meeting_id)
            .where(WatchDisclosure.client_id.in_(ids))
            .order_by(WatchDisclosure.at, WatchDisclosure.id)):
        out.append({"at": tokyo(row.at), "kind": "watch_sheet", "referral_id": None,
                    "partner": None, "meeting_id": meeting.id,
                    "recipients": list(row.recipients or []),
                    "to": f"{MEETING_LABELS.get(meeting.kind, meeting.kind)}"
                          f"（{meeting.held_on.isoformat()}）の出席者",
                    "channel": "watch_sheet", "channel_label": DELIVERY_CHANNELS["watch_sheet"],
                    "items": list(row.fields or []), "basis": row.basis,
                    "basis_label": BASIS_LABELS.get(row.basis, row.basis),
                    "by": row.actor_label})
    return out


def _access_log(session: Session, ids: list[int], case_ids: list[int],
                consultation_ids: list[int], referral_ids: list[int]) -> list[dict]:
    """Who at the counter opened the person's record, cases, consultations or referrals."""
    wanted = [("client", ids), ("case", case_ids), ("consultation", consultation_ids),
              ("referral", referral_ids), ("consultation_team", consultation_ids)]
    clauses = [and_(AuditEntry.resource_type == kind,
                    AuditEntry.resource_id.in_([str(i) for i in values]))
               for kind, values in wanted if values]
    rows = session.scalars(select(AuditEntry).where(
        or_(*clauses), AuditEntry.actor_role.in_(STAFF_ROLES)).order_by(AuditEntry.id))
    return [{"at": tokyo(e.at), "who": e.actor_label, "role": e.actor_role, "action": e.action,
             "action_label": ACTIONS.get(e.action, e.action), "resource": e.resource_type,
             "resource_id": int(e.resource_id) if (e.resource_id or "").isdigit() else None,
             "outcome": e.outcome} for e in rows]
