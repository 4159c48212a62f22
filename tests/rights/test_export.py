"""開示 (§33): a supervisor hands the person everything held about them, as JSON and as a PDF
with the font embedded, including provision records, reads, corrections and merged records."""

import pytest
from sqlalchemy import select

from caseapp.models import AuditEntry
from tests.conftest import Api
from tests.helpers import assert_problem
from tests.services.delivery.helpers import CONSENT, ELDER, hook, referral_to, run_due


@pytest.fixture
def person(api, session, config, tokens):
    """A person with a delivered referral, a partner read, a correction and a merged record."""
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = api.post("/api/v1/consultations", json={**ELDER, "consent": CONSENT}).json
    run_due(session, config)
    referral = referral_to(session, created["id"], "houkatsu")
    partner = Api(api.client, tokens["partner:houkatsu"])
    assert partner.get(f"/api/v1/partner/referrals/{referral.id}").status_code == 200
    fixed = api.patch(f"/api/v1/clients/{created['client_id']}",
                      json={"address": "高知県南国市大埇甲2301"})
    assert fixed.status_code == 200, fixed.json
    twin = api.post("/api/v1/clients", json={"name": "高知 花子", "name_kana": "コウチ ハナコ",
                                             "phone": "088-123-4567",
                                             "postal_code": "783-8501"}).json
    merged = api.post(f"/api/v1/clients/{created['client_id']}/merge",
                      json={"duplicate_id": twin["id"], "reason": "同一人物"})
    assert merged.status_code == 200, merged.json
    return {**created, "referral_id": referral.id, "twin_id": twin["id"]}


def test_a_supervisor_gets_everything_held_about_the_person(supervisor, person, session):
    response = supervisor.get(f"/api/v1/clients/{person['client_id']}/export")
    assert response.status_code == 200, response.json
    doc = response.json
    assert [r["id"] for r in doc["records"]] == [person["client_id"], person["twin_id"]]
    me = doc["records"][0]
    assert me["name"] == "高知 花子" and me["address"] == "高知県南国市大埇甲2301"
    assert doc["records"][1]["merged_into"] == person["client_id"]
    assert [c["id"] for c in doc["consultations"]] == [person["id"]]
    assert doc["consultations"][0]["summary"] == "母の介護で眠れない"
    assert doc["consultations"][0]["topics"] == [{"code": "elder_care", "label": "介護のこと"}]
    assert {r["id"] for r in doc["referrals"]} >= {person["referral_id"]}
    assert doc["consents"] and doc["consents"][0]["method"] == "written"
    # §34: the correction, with its date and the items changed (and the merge's fill-ins).
    kinds = {(c["kind"], tuple(i["code"] for i in c["items"])) for c in doc["corrections"]}
    assert ("correction", ("address",)) in kinds and ("merge", ("postal_code",)) in kinds
    assert all(c["at"].endswith("+09:00") for c in doc["corrections"])
    # §33(5): what houkatsu was given, pushed and read in its inbox, with the basis.
    provided = [p for p in doc["provisions"] if p["referral_id"] == person["referral_id"]]
    assert {p["kind"] for p in provided} == {"sent", "partner_read"}
    sent = next(p for p in provided if p["kind"] == "sent")
    assert sent["partner"]["code"] == "houkatsu" and "client.name" in sent["items"]
    assert sent["basis"] == "consent" and "同意" in sent["basis_label"]
    assert sent["at"].endswith("+09:00")
    # Who at the counter read the person's data, and when.
    reads = [a for a in doc["access_log"] if a["who"] == "counter-1"]
    assert {"create", "update", "merge"} <= {a["action"] for a in reads}
    assert all(a["role"] in ("counter", "supervisor", "admin") for a in doc["access_log"])


def test_producing_the_file_is_audited_and_only_supervisors_may(api, supervisor, person,
                                                                 session, tokens):
    assert_problem(api.get(f"/api/v1/clients/{person['client_id']}/export"), 403)
    partner = Api(api.client, tokens["partner:houkatsu"])
    assert_problem(partner.get(f"/api/v1/clients/{person['client_id']}/export.pdf"), 403)
    assert supervisor.get(f"/api/v1/clients/{person['client_id']}/export").status_code == 200
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "export")
                           .order_by(AuditEntry.id.desc()))
    assert entry.resource_id == str(person["client_id"]) and entry.actor_label == "supervisor-1"
    assert entry.detail["records"] == [person["client_id"], person["twin_id"]]
    # A merged-away id points to the survivor rather than exporting half a person.
    gone = supervisor.get(f"/api/v1/clients/{person['twin_id']}/export")
    assert assert_problem(gone, 404)["merged_into"] == person["client_id"]


def test_the_pdf_is_japanese_with_the_font_embedded(supervisor, person, session):
    response = supervisor.get(f"/api/v1/clients/{person['client_id']}/export.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    pdf = response.data
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    # The subset of IPAex Gothic travels inside the file: it prints on any machine.
    assert b"IPAexGothic" in pdf and b"/FontFile2" in pdf
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "export")
                           .order_by(AuditEntry.id.desc()))
    assert entry.detail["format"] == "pdf"
