"""The counter's pages over HTTP: intake through the API's own schema and service, the case,
ホーム's queue, referrals, and merging people — as a browser would post them."""

from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from caseapp.models import AuditEntry, Case, Client, Consultation, Referral
from caseapp.rules.calendar import TOKYO
from tests.helpers import EXAMPLE
from tests.web.console import Console

EXAMPLE_FORM = {
    "who": "new", "client.name": "山田 太郎", "client.name_kana": "ヤマダ タロウ",
    "client.birth_date": "昭和27年4月1日", "channel": "window", "topics": ["debt", "income_living"],
    "summary": "年金だけでは返済が追いつかない", "urgency": "normal", "facts.age": "74",
    "facts.household_size": "1", "facts.monthly_income": "90000",
    "debts-0-creditor": "A社", "debts-0-principal": "800000",
    "consent.given": "yes", "consent.scope": "network", "consent.method": "written",
}


@pytest.fixture
def counter(console):
    console.sign_in("suzuki")
    return console


def _post(console: Console, path: str, data: dict, **kw):
    return console.post(path, data, token_from="/consultations/new", **kw)


def test_the_intake_form_records_the_readme_intake_and_opens_its_case(counter, session, api):
    answer = _post(counter, "/consultations/new", EXAMPLE_FORM)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    consultation = session.scalar(select(Consultation))
    assert answer.location.startswith(f"/cases/{consultation.case_id}?registered=")
    client = session.get(Client, consultation.client_id)
    assert client.name == "山田 太郎" and client.birth_date.isoformat() == "1952-04-01"
    assert consultation.facts["debts"] == [{"creditor": "A社", "principal": 800000}]
    assert client.consents and client.consents[0].method == "written"

    page = counter.get(answer.location).get_data(as_text=True)
    # The same routing the API's dry run gives for the README's intake.
    routed = api.post("/api/v1/rules/evaluate", json={
        k: v for k, v in EXAMPLE.items() if k != "consent"}).json["decisions"]
    stored = [(d.partner_code, d.reason) for d in consultation.decisions]
    assert stored == [(d["partner"], d["reason"]) for d in routed]
    for d in routed:
        assert d["reason"] in page
    assert "昭和27年4月1日" in page and "相談を登録しました" in page


def test_the_routing_preview_is_the_api_dry_run(counter, api):
    preview = _post(counter, "/consultations/preview", EXAMPLE_FORM,
                    headers={"HX-Request": "true"})
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    routed = api.post("/api/v1/rules/evaluate", json={
        k: v for k, v in EXAMPLE.items() if k != "consent"}).json["decisions"]
    assert routed
    for d in routed:
        assert f'data-partner="{d["partner"]}"' in text and d["reason"] in text
    assert "emergency-banner" not in text


def test_an_emergency_raises_the_banner_in_the_preview(counter):
    form = {**EXAMPLE_FORM, "urgency": "emergency"}
    text = _post(counter, "/consultations/preview", form).get_data(as_text=True)
    assert 'id="emergency-banner"' in text and "緊急" in text


def test_a_wrong_wareki_birth_date_is_refused_beside_its_field(counter, session, api):
    form = {**EXAMPLE_FORM, "client.birth_date": "平成32年1月1日"}
    answer = _post(counter, "/consultations/new", form)
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    problem = api.post("/api/v1/consultations", json={
        **EXAMPLE, "client": {**EXAMPLE["client"], "birth_date": "平成32年1月1日"}})
    assert problem.status_code == 422
    message = problem.json["errors"]["client.birth_date"][0]
    assert f'id="client-birth_date-error">{message}' in text
    assert session.scalar(select(Consultation)) is None


def test_anonymous_intake_records_no_person_and_no_consent(counter, session):
    form = {"who": "anonymous", "channel": "phone", "topics": ["no_food"],
            "summary": "今日食べるものがない", "consent.given": "yes",
            "consent.scope": "network", "consent.method": "oral"}
    answer = _post(counter, "/consultations/new", form)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    consultation = session.scalar(select(Consultation))
    assert consultation.client_id is None and session.scalar(select(Client)) is None


def test_an_unknown_fact_value_gets_the_api_message(counter):
    form = {**EXAMPLE_FORM, "facts.age": "七十四"}
    text = _post(counter, "/consultations/new", form).get_data(as_text=True)
    assert 'id="facts-age-error"' in text


def test_people_search_finds_by_kana_and_phone(counter, session):
    _post(counter, "/consultations/new", {**EXAMPLE_FORM, "client.phone": "088-823-1234"})
    for q in ("やまだ", "山田", "0888231234"):
        text = counter.get(f"/consultations/people?q={q}").get_data(as_text=True)
        assert "山田 太郎" in text, q


def test_the_case_page_sets_the_next_action_and_prints_the_letter(counter, session):
    _post(counter, "/consultations/new", EXAMPLE_FORM)
    case = session.scalar(select(Case))
    answer = counter.post(f"/cases/{case.id}/next-action",
                          {"next_action": "家計の見直しを提案",
                           "next_action_at": "2030-01-10T10:00"},
                          token_from=f"/cases/{case.id}")
    assert answer.status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).next_action_at.astimezone(TOKYO).hour == 10
    referral = session.scalar(select(Referral))
    pdf = counter.get(f"/cases/{case.id}/referrals/{referral.id}/letter.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")


def test_a_refused_case_action_shows_the_api_message(counter, session):
    _post(counter, "/consultations/new", EXAMPLE_FORM)
    case = session.scalar(select(Case))
    referral = session.scalar(select(Referral))
    answer = counter.post(f"/cases/{case.id}/referrals/{referral.id}/cancel", {"reason": ""},
                          token_from=f"/cases/{case.id}")
    assert answer.status_code == 422
    assert "field-error" in answer.get_data(as_text=True)


@pytest.mark.calendar
def test_home_lists_the_overdue_next_action_first_with_a_link(console, session):
    # A Friday: five business days on is the next Friday, past a weekend.
    with time_machine.travel(datetime(2026, 11, 27, 10, 0, tzinfo=TOKYO), tick=False):
        console.sign_in("suzuki")
        _post(console, "/consultations/new", EXAMPLE_FORM)
        text = console.get("/").get_data(as_text=True)
    case = session.scalar(select(Case))
    assert case.next_action_at.astimezone(TOKYO).date().isoformat() == "2026-12-04"
    assert f'href="/cases/{case.id}"' not in text.split('id="queue-due"')[1].split("</ul>")[0]
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=TOKYO), tick=False):
        console.sign_in("suzuki")
        text = console.get("/").get_data(as_text=True)
    due = text.split('id="queue-due"')[1].split("</ul>")[0]
    assert f'href="/cases/{case.id}"' in due and "期限切れ" in due


def test_the_referrals_page_filters_by_status(counter, session):
    _post(counter, "/consultations/new", EXAMPLE_FORM)
    case = session.scalar(select(Case))
    text = counter.get("/referrals?status=requested").get_data(as_text=True)
    assert f'href="/cases/{case.id}"' in text
    text = counter.get("/referrals?status=completed").get_data(as_text=True)
    assert f'href="/cases/{case.id}"' not in text


def test_merging_two_records_says_what_moves_then_moves_it(counter, session):
    _post(counter, "/consultations/new", EXAMPLE_FORM)
    _post(counter, "/consultations/new", {**EXAMPLE_FORM, "client.name": "山田 太郎"})
    first, second = session.scalars(select(Client).order_by(Client.id)).all()
    page = counter.get(f"/clients/{first.id}").get_data(as_text=True)
    assert f"/clients/{first.id}/merge/{second.id}" in page
    confirm = counter.get(f"/clients/{first.id}/merge/{second.id}").get_data(as_text=True)
    assert "相談：1 件" in confirm and "ケース：1 件" in confirm
    done = counter.post(f"/clients/{first.id}/merge/{second.id}", {"reason": "同一人物"},
                        token_from=f"/clients/{first.id}/merge/{second.id}")
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Client, second.id).merged_into_id == first.id
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "merge"))


def test_the_pages_need_a_signed_in_counter(console):
    for path in ("/consultations/new", "/cases/1", "/referrals", "/clients"):
        assert console.get(path).status_code == 302


def test_an_existing_person_must_be_picked_not_silently_anonymous(counter, session):
    answer = _post(counter, "/consultations/new", {**EXAMPLE_FORM, "who": "existing"})
    assert answer.status_code == 422
    assert 'id="client_id-error">登録済みの相談者を検索して選んでください' in answer.get_data(
        as_text=True)
    assert session.scalar(select(Consultation)) is None


def test_a_returning_person_picked_from_the_search_gets_the_same_case(counter, session):
    _post(counter, "/consultations/new", EXAMPLE_FORM)
    client = session.scalar(select(Client))
    form = {"who": "new", "client_id": str(client.id), "channel": "phone", "topics": ["debt"],
            "summary": "その後の相談"}
    answer = _post(counter, "/consultations/new", form)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    rows = session.scalars(select(Consultation).order_by(Consultation.id)).all()
    assert [c.client_id for c in rows] == [client.id, client.id]
    assert rows[0].case_id == rows[1].case_id
