"""The after-event report (相談会の実施報告): counts only, computed with GROUP BY in the database.

"Still open" is defined so that it can be checked by hand: a consultation is open while its case
is open and something from the evening is pending — an unsettled referral (open, or failed and
waiting for staff to retry), a `follow_up`, or no team outcome recorded yet.
"""

import csv
import io

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from caseapp.domain.vocab import OPEN_STATUSES, CaseStatus, ReferralStatus, TeamOutcome
from caseapp.models import (
    Case,
    Consultation,
    ConsultationTeam,
    ConsultationTeamPartner,
    ConsultationTopic,
    Event,
    Partner,
    Referral,
)
from caseapp.rules import TOPICS
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.lookup import get_or_404
from caseapp.services.events.teams import team_rule_id

# A failed referral is not done with: staff must retry or re-route it, so it counts as open.
UNSETTLED = (*OPEN_STATUSES, ReferralStatus.FAILED)
NOT_RECORDED = "not_recorded"
OUTCOME_LABELS = {
    TeamOutcome.RESOLVED_ON_SITE: "その場で解決",
    TeamOutcome.REFERRED: "つなぎ",
    TeamOutcome.FOLLOW_UP: "継続対応",
    NOT_RECORDED: "未記録",
}
STATUS_LABELS = {
    "awaiting_consent": "同意待ち", "requested": "送付待ち", "sent": "送付済み",
    "received": "受領", "accepted": "受理", "in_progress": "対応中", "rejected": "不受理",
    "completed": "完了", "cancelled": "取消", "failed": "送付失敗",
}


def build(session: Session, actor: Actor, event_id: int) -> dict:
    event = get_or_404(session, Event, event_id)
    of_event = Consultation.event_id == event.id

    total, named = session.execute(
        select(func.count(), func.count(Consultation.client_id)).where(of_event)).one()
    by_topic = dict(session.execute(
        select(ConsultationTopic.topic, func.count())
        .join(Consultation, Consultation.id == ConsultationTopic.consultation_id)
        .where(of_event).group_by(ConsultationTopic.topic)).all())
    by_outcome = dict(session.execute(
        select(ConsultationTeam.outcome, func.count())
        .join(Consultation, Consultation.id == ConsultationTeam.consultation_id)
        .where(of_event).group_by(ConsultationTeam.outcome)).all())
    team_counts = dict(session.execute(
        select(ConsultationTeamPartner.partner_id, func.count())
        .join(ConsultationTeam, ConsultationTeam.id == ConsultationTeamPartner.team_id)
        .join(Consultation, Consultation.id == ConsultationTeam.consultation_id)
        .where(of_event).group_by(ConsultationTeamPartner.partner_id)).all())

    from_team = Referral.rule_id == team_rule_id(event.id)
    referral_rows = session.execute(
        select(Referral.partner_id, Referral.status, from_team.label("from_team"), func.count())
        .join(Consultation, Consultation.id == Referral.consultation_id)
        .where(of_event).group_by(Referral.partner_id, Referral.status, from_team)).all()
    referred_consultations = session.scalar(
        select(func.count(func.distinct(Referral.consultation_id)))
        .join(Consultation, Consultation.id == Referral.consultation_id).where(of_event))

    unsettled = exists().where(Referral.consultation_id == Consultation.id,
                               Referral.status.in_(UNSETTLED))
    team = select(ConsultationTeam.outcome).where(
        ConsultationTeam.consultation_id == Consultation.id).scalar_subquery()
    still_open = session.scalar(
        select(func.count()).select_from(Consultation)
        .join(Case, Case.id == Consultation.case_id)
        .where(of_event, Case.status == CaseStatus.OPEN,
               or_(unsettled, team.is_(None), team == TeamOutcome.FOLLOW_UP)))
    closed_cases = session.scalar(
        select(func.count()).select_from(Consultation)
        .join(Case, Case.id == Consultation.case_id)
        .where(of_event, Case.status == CaseStatus.CLOSED))

    partner_ids = set(team_counts) | {row.partner_id for row in referral_rows}
    partners = {p.id: p for p in session.scalars(
        select(Partner).where(or_(Partner.id.in_(partner_ids),
                                  Partner.code.in_(event.partners or []))))}

    referrals = {"total": 0, "from_routing": 0, "from_team": 0, "open": 0,
                 "consultations_with_referrals": referred_consultations,
                 "by_status": {status.value: 0 for status in ReferralStatus}}
    per_partner: dict[int, dict] = {}
    for row in referral_rows:
        n = row[3]
        referrals["total"] += n
        referrals["from_team" if row.from_team else "from_routing"] += n
        referrals["by_status"][row.status] = referrals["by_status"].get(row.status, 0) + n
        entry = per_partner.setdefault(row.partner_id, {"referrals": 0, "open_referrals": 0})
        entry["referrals"] += n
        if row.status in UNSETTLED:
            referrals["open"] += n
            entry["open_referrals"] += n

    present = list(event.partners or [])
    code_order = {code: i for i, code in enumerate(present)}
    by_partner = []
    for pid, partner in partners.items():
        counts = per_partner.get(pid, {"referrals": 0, "open_referrals": 0})
        by_partner.append({
            "partner": partner.code, "name": partner.name, "present": partner.code in code_order,
            "team_consultations": team_counts.get(pid, 0), **counts})
    # Present partners in the event's order first, then the others routing reached.
    by_partner.sort(key=lambda p: (code_order.get(p["partner"], len(code_order)), p["partner"]))

    recorded = sum(by_outcome.values())
    report = {
        "event": {"id": event.id, "name": event.name, "date": event.date.isoformat(),
                  "venue": event.venue, "partners": present},
        "consultations": {"total": total, "named": named, "anonymous": total - named,
                          "team_recorded": recorded, "still_open": still_open,
                          "cases_closed": closed_cases},
        "by_topic": [{"topic": code, "label": label, "count": by_topic[code]}
                     for code, label in TOPICS.items() if by_topic.get(code)],
        "by_outcome": {**{o.value: by_outcome.get(o, 0) for o in TeamOutcome},
                       NOT_RECORDED: total - recorded},
        "by_partner": by_partner,
        "referrals": referrals,
    }
    audit.record(session, actor, "report", "event", event.id)
    session.commit()
    return report


def to_csv(report: dict) -> bytes:
    """One table Excel opens as it is: UTF-8 with a BOM, CRLF, Japanese column labels."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["区分", "コード", "項目", "件数", "うち未完了"])
    c, r = report["consultations"], report["referrals"]
    writer.writerow(["相談会", report["event"]["date"], report["event"]["name"], "", ""])
    for code, label, count in (
        ("total", "相談件数", c["total"]), ("named", "記名", c["named"]),
        ("anonymous", "匿名", c["anonymous"]), ("team_recorded", "チーム対応記録あり",
                                                c["team_recorded"]),
        ("still_open", "未完了の相談", c["still_open"]), ("cases_closed", "終結したケース",
                                                        c["cases_closed"]),
    ):
        writer.writerow(["相談件数", code, label, count, ""])
    for row in report["by_topic"]:
        writer.writerow(["相談内容", row["topic"], row["label"], row["count"], ""])
    for code, count in report["by_outcome"].items():
        writer.writerow(["対応結果", code, OUTCOME_LABELS[code], count, ""])
    for row in report["by_partner"]:
        if row["present"]:
            writer.writerow(["チーム対応した連携機関", row["partner"], row["name"],
                             row["team_consultations"], ""])
    for row in report["by_partner"]:
        label = row["name"] + ("" if row["present"] else "（相談会には不参加）")
        writer.writerow(["つなぎ先", row["partner"], label, row["referrals"],
                         row["open_referrals"]])
    writer.writerow(["つなぎ", "total", "つなぎ件数", r["total"], r["open"]])
    writer.writerow(["つなぎ", "consultations_with_referrals", "つなぎのあった相談",
                     r["consultations_with_referrals"], ""])
    writer.writerow(["つなぎ", "from_routing", "ルールによるつなぎ", r["from_routing"], ""])
    writer.writerow(["つなぎ", "from_team", "チーム対応によるつなぎ", r["from_team"], ""])
    for status, count in r["by_status"].items():
        writer.writerow(["つなぎの状況", status, STATUS_LABELS.get(status, status), count, ""])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


__all__ = ["build", "to_csv"]
