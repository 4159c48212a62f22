"""Retention: persons past the period are made anonymous — no name left in the database, the
counts kept, the audit chain verifiable and recording it; a dry run lists who; reruns do nothing."""

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import select

from caseapp.extensions import db
from caseapp.models import AuditEntry, Client
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit
from caseapp.services.rights import retention
from tests.conftest import Api
from tests.services.delivery.helpers import CONSENT, referral_to, run_due

CLOSED_AT = datetime(2020, 4, 1, 10, 0, tzinfo=TOKYO)
PAST = {
    "client": {"name": "汐見 次郎", "name_kana": "シオミ ジロウ", "birth_date": "1950-02-03",
               "phone": "088-765-4321", "postal_code": "783-0001",
               "address": "高知県南国市岡豊町小蓮123", "district": "岡豊", "small_area": "小蓮"},
    "channel": "window", "topics": ["elder_care"],
    "summary": "汐見次郎さんの母の介護で眠れない", "facts": {"age": 70, "monthly_income": 80000},
    "consent": {**CONSENT, "given_at": "2020-04-01T09:00:00+09:00"},
}
SECRETS = ("汐見", "次郎", "シオミ", "ジロウ", "0887654321", "1950-02-03", "岡豊町小蓮", "小蓮123",
           "783-0001", "7830001", "母の介護", "息子が", "同居")


def everything_in_the_database() -> str:
    """Every row of every table, as text."""
    out = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            out.append(json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False))
    db.session.commit()
    return "\n".join(out)


@pytest.fixture
def past_person(api, tokens, session, config):
    """A person helped in April 2020: referral delivered, completed with a note, case closed."""
    with time_machine.travel(CLOSED_AT, tick=False):
        made = api.post("/api/v1/consultations", json=PAST).json
        run_due(session, config)
        referral = referral_to(session, made["id"], "houkatsu")
        partner = Api(api.client, tokens["partner:houkatsu"])
        for move in ({"status": "received"}, {"status": "accepted"},
                     {"status": "completed", "outcome": "got_help",
                      "note": "息子が同居することになった"}):
            answer = partner.post(f"/api/v1/partner/referrals/{referral.id}/status", json=move)
            assert answer.status_code == 200, answer.json
        for other in made["referrals"]:
            if other["id"] != referral.id:
                api.post(f"/api/v1/referrals/{other['id']}/cancel", json={"reason": "不要"})
        closed = api.patch(f"/api/v1/cases/{made['case_id']}",
                           json={"status": "closed", "next_action": "汐見次郎さんに電話"})
        assert closed.status_code == 200, closed.json
        twin = api.post("/api/v1/clients", json={"name": "汐見 次郎", "phone": "088-765-4321"})
        api.post(f"/api/v1/clients/{made['client_id']}/merge",
                 json={"duplicate_id": twin.json["id"]})
    return {**made, "referral_id": referral.id, "twin_id": twin.json["id"]}


def test_past_retention_leaves_no_name_keeps_counts_and_a_verifiable_chain(
        app, api, tokens, session, config, past_person):
    # Someone still being helped, and someone closed four years ago, stay as they are.
    with time_machine.travel(datetime(2021, 6, 1, 9, 0, tzinfo=TOKYO), tick=False):
        recent = api.post("/api/v1/consultations", json={
            "client": {"name": "室戸 三郎"}, "channel": "phone", "topics": ["debt"]}).json
        api.patch(f"/api/v1/cases/{recent['case_id']}", json={"status": "closed"})
    ongoing = api.post("/api/v1/consultations", json={
        "client": {"name": "安芸 四郎"}, "channel": "phone", "topics": ["debt"]}).json
    supervisor = api.as_(tokens["supervisor"])
    report = {"from": "2020-04", "to": "2020-04"}
    before = supervisor.get("/api/v1/reports/monthly", query_string=report).json
    assert "汐見" in everything_in_the_database()

    now = CLOSED_AT + timedelta(days=5 * 365 + 2)
    dry = retention.run(session, 5, now=now, dry_run=True)
    assert [c.client_id for c in dry.candidates] == [past_person["client_id"]]
    assert dry.anonymised == []
    assert session.get(Client, past_person["client_id"]).name == "汐見 次郎"

    done = retention.run(session, 5, now=now)
    assert done.anonymised == [past_person["client_id"]]
    dump = everything_in_the_database()
    for secret in SECRETS:
        assert secret not in dump, secret
    assert "室戸" in dump and "安芸" in dump  # only the person past retention
    session.expire_all()
    person = session.get(Client, past_person["client_id"])
    assert person.anonymised_at is not None and person.district == "岡豊"
    assert session.get(Client, past_person["twin_id"]).anonymised_at is not None
    # Counts for reports are unchanged.
    after = supervisor.get("/api/v1/reports/monthly", query_string=report).json
    for key in ("by_month", "by_topic", "by_channel", "by_district", "by_partner", "funnel"):
        assert after.get(key) == before.get(key), key
    # The chain still verifies and records the anonymisation, by ids.
    checked, broken = audit.verify(session)
    assert broken is None and checked > 10
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "anonymise"))
    assert entry.resource_id == str(past_person["client_id"]) and entry.actor_label == "system"
    assert entry.detail["records"] == [past_person["client_id"], past_person["twin_id"]]
    # The partner's view of the old referral shows nothing of the person.
    partner = Api(api.client, tokens["partner:houkatsu"])
    view = partner.get(f"/api/v1/partner/referrals/{past_person['referral_id']}").json
    assert view["client"] is None and view["contact"] is None and view["summary"] is None
    assert all(h["note"] is None for h in view["history"])
    # Idempotent: a second run finds nobody and writes nothing.
    entries = session.scalar(select(sa.func.count()).select_from(AuditEntry))
    again = retention.run(session, 5, now=now + timedelta(days=1))
    assert again.candidates == [] and again.anonymised == []
    assert session.scalar(select(sa.func.count()).select_from(AuditEntry)) == entries
    assert ongoing["client_id"] not in [c.client_id for c in retention.candidates(
        session, now + timedelta(days=3650), 5)]


def test_the_audit_log_holds_ids_not_names(api, session, past_person):
    rows = session.scalars(select(AuditEntry)).all()
    text = "\n".join(json.dumps({"detail": r.detail, "note": r.note, "id": r.resource_id},
                                ensure_ascii=False) for r in rows)
    assert rows and all(secret not in text for secret in SECRETS[:5])


def test_the_cli_dry_run_lists_ids_and_the_run_anonymises(app, session, past_person):
    runner = app.test_cli_runner()
    with time_machine.travel(CLOSED_AT + timedelta(days=5 * 366), tick=False):
        dry = runner.invoke(args=["retention", "run", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert f"client {past_person['client_id']}" in dry.output and "汐見" not in dry.output
        assert session.get(Client, past_person["client_id"]).anonymised_at is None
        done = runner.invoke(args=["retention", "run"])
        assert done.exit_code == 0, done.output
        assert "anonymised 1 person(s)" in done.output
    session.expire_all()
    assert session.get(Client, past_person["client_id"]).anonymised_at is not None


def test_the_cutoff_is_the_same_day_years_before_in_tokyo():
    leap = datetime(2028, 2, 29, 12, 0, tzinfo=TOKYO)
    assert retention.cutoff(leap, 5).astimezone(TOKYO).date().isoformat() == "2023-02-28"
