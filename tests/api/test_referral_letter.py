"""The 紹介状: read back from the PDF — Japanese text, embedded font, QR code, legal basis."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import select

from caseapp.domain import ack_codes
from caseapp.models import AckCode, AuditEntry, Consent, Disclosure, Referral
from caseapp.services.core.actors import Actor
from caseapp.services.referrals import ack_links, letters
from tests.api.loop_helpers import intake, one_each, record_meeting, refer, referral_id
from tests.helpers import EXAMPLE, assert_problem

FULL_CLIENT = {"name": "髙橋 花子", "name_kana": "タカハシ ハナコ", "birth_date": "1950-03-04",
               "sex": "female", "phone": "088-123-4567", "postal_code": "783-0001",
               "address": "南国市大埇甲1", "district": "岡豊地区", "small_area": "一区"}
EMERGENCY = {"client": {"name": "緊急 一郎", "phone": "090-0000-1111"}, "channel": "window",
             "topics": ["no_food"], "summary": "今日食べる物がない", "urgency": "emergency"}
# Never on a letter, whatever the basis: not part of any partner view.
NEVER = ("1950", "昭和25", "岡豊", "一区", "女性", "female", "800000", "A社")


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


class Read:
    def __init__(self, data: bytes):
        self.reader = PdfReader(io.BytesIO(data))
        self.text = flat("".join(page.extract_text() for page in self.reader.pages))

    def has(self, value: str) -> bool:
        return flat(value) in self.text

    def fonts(self) -> list:
        found = []
        for page in self.reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                for part in font.get("/DescendantFonts", [font]):
                    found.append(part.get_object())
        return found

    def qr(self) -> str:
        images = self.reader.pages[0].images
        assert len(images) == 1
        [barcode] = zxingcpp.read_barcodes(images[0].image.convert("L"))
        assert barcode.format == zxingcpp.BarcodeFormat.QRCode
        return barcode.text


def letter(api, rid: int) -> Read:
    response = api.get(f"/api/v1/referrals/{rid}/letter.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    return Read(response.data)


def test_the_letter_is_japanese_with_the_font_embedded_and_a_working_qr_code(
        app, api, anon, session):
    made = intake(api, {**EXAMPLE, "client": FULL_CLIENT})
    rid = referral_id(made, "houkatsu")
    read = letter(api, rid)
    page = read.reader.pages[0]
    assert len(read.reader.pages) == 1
    assert [round(float(v)) for v in page.mediabox[2:]] == [595, 842]  # A4 in points
    for expected in ("紹介状", "地域包括支援センター御中", "紹介元", "福祉総合相談窓口",
                     "担当:counter-1", "髙橋花子", "タカハシハナコ", "088-123-4567",
                     "〒783-0001南国市大埇甲1", "年金だけでは返済が追いつかない",
                     "ご本人の同意", "受け取りのご連絡のお願い", "http://caseapp.test/ack"):
        assert read.has(expected), expected
    assert re.search(r"令和\d+年\d+月\d+日", read.text)
    # Every font is embedded (and it is IPAex Gothic): the text shows on any viewer.
    fonts = read.fonts()
    assert fonts and all("IPAexGothic" in str(f["/BaseFont"]) for f in fonts)
    assert all("/FontFile2" in f["/FontDescriptor"] for f in fonts if "/FontDescriptor" in f)
    assert any("/FontDescriptor" in f for f in fonts)
    # The QR code is the signed acknowledgement link, and the code printed is the stored one.
    url = read.qr()
    assert url.startswith("http://caseapp.test/api/v1/ack/")
    claim = ack_links.verify(url.rsplit("/", 1)[1], "test-secret")
    stored = session.scalar(select(AckCode).where(AckCode.referral_id == rid))
    assert claim.referral_id == rid and claim.nonce == stored.nonce
    assert read.has(f"受付コード:{ack_codes.display(stored.code)}")
    assert claim.expires_at - claim.issued_at == timedelta(days=30)
    # Opening it in a browser, then pressing the button, marks the referral received.
    assert anon.post(url.removeprefix("http://caseapp.test")).json["status"] == "received"
    session.expire_all()
    assert session.get(Referral, rid).status == "received"


def test_every_letter_is_a_disclosure_logged_with_the_items_printed(api, session):
    made = intake(api, {**EXAMPLE, "client": FULL_CLIENT})
    rid = referral_id(made, "houkatsu")
    letter(api, rid)
    letter(api, rid)  # a reprint is another disclosure, with its own code
    rows = session.scalars(select(Disclosure).where(Disclosure.channel == "letter")).all()
    assert len(rows) == 2
    row = rows[0]
    assert row.referral_id == rid and row.partner.code == "houkatsu"
    assert row.actor_label == "counter-1" and row.actor_id is not None
    assert row.basis.startswith("consent:") and row.client_id is not None
    assert row.fields == ["reason", "topics", "client.name", "client.name_kana",
                          "contact.phone", "contact.postal_code", "contact.address", "summary"]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "disclose",
                                                     AuditEntry.purpose == "referral_letter")
                            ).all()
    assert [a.resource_id for a in audit] == [str(rid), str(rid)]
    assert audit[0].detail["fields"] == row.fields and audit[0].detail["channel"] == "letter"
    assert audit[0].actor_role == "counter"
    codes = session.scalars(select(AckCode.code).where(AckCode.referral_id == rid)).all()
    assert len(set(codes)) == 2
    assert all(len(c) == 8 and set(c) <= set(ack_codes.ALPHABET) for c in codes)
    assert not set("0O1IL") & set(ack_codes.ALPHABET)
    # The staff view of the referral lists the letters among its disclosures.
    shown = api.get(f"/api/v1/referrals/{rid}").json["disclosures"]
    assert [d["channel"] for d in shown].count("letter") == 2


def basis_case(api, tokens, session, basis):
    """A referral of each kind of legal basis: (referral id, printed, never printed)."""
    if basis == "consent":
        rid = referral_id(intake(api, {**EXAMPLE, "client": FULL_CLIENT}), "houkatsu")
        return rid, ["髙橋花子", "タカハシハナコ", "088-123-4567", EXAMPLE["summary"]], []
    if basis == "life_safety":
        rid = referral_id(intake(api, EMERGENCY), "jiritsu")
        return rid, ["緊急一郎", "生命・身体・財産の保護"], ["090-0000-1111", "今日食べる物がない"]
    if basis == "support_meeting":
        body = {k: v for k, v in EXAMPLE.items() if k != "consent"}
        made = intake(api, {**body, "client": FULL_CLIENT})
        meeting_id = record_meeting(api.as_(tokens["supervisor"]), made["case_id"], ["jiritsu"])
        rid = refer(api, made["case_id"], "jiritsu", exception="support_meeting",
                    meeting_id=meeting_id)["id"]
        return rid, ["髙橋花子", EXAMPLE["summary"], "支援会議"], ["088-123-4567", "大埇"]
    if basis == "anonymous":
        rid = referral_id(intake(api, {"channel": "event", "summary": "誰にも言えない悩みがある"}),
                          "jiritsu")
        return rid, ["誰にも言えない悩みがある", "匿名"], []
    if basis == "withdrawn":
        rid = referral_id(intake(api, {**EXAMPLE, "client": FULL_CLIENT}), "houkatsu")
        session.scalar(select(Consent)).withdrawn_at = datetime.now(UTC) - timedelta(seconds=1)
        session.commit()
        return rid, ["記載していません"], ["髙橋", "タカハシ", "088-123-4567", "大埇",
                                         EXAMPLE["summary"]]
    raise AssertionError(basis)


@pytest.mark.parametrize("basis", ["consent", "life_safety", "support_meeting", "anonymous",
                                   "withdrawn"])
def test_a_letter_shows_only_what_its_legal_basis_allows(api, tokens, session, basis):
    rid, shown, hidden = basis_case(api, tokens, session, basis)
    read = letter(api, rid)
    for value in shown:
        assert read.has(value), value
    for value in (*hidden, *NEVER):
        assert not read.has(value), value
    # The same definition as the partner's own view: the log names what that view shows.
    partner = {"houkatsu": "partner:houkatsu", "jiritsu": "partner:jiritsu"}[
        session.get(Referral, rid).partner.code]
    api.as_(tokens[partner]).get(f"/api/v1/partner/referrals/{rid}")
    inbox = session.scalars(select(AuditEntry).where(AuditEntry.purpose == "partner_inbox",
                                                     AuditEntry.action == "read")).all()[-1]
    printed = session.scalars(select(Disclosure).where(Disclosure.channel == "letter")).all()[-1]
    assert printed.fields == inbox.detail["items"]


def test_no_letter_before_a_legal_basis_or_after_the_end(api, session):
    body = {k: v for k, v in EXAMPLE.items() if k != "consent"}
    made = intake(api, body)
    waiting = referral_id(made, "houkatsu")
    assert session.get(Referral, waiting).status == "awaiting_consent"
    assert "根拠" in assert_problem(api.get(f"/api/v1/referrals/{waiting}/letter.pdf"), 409)[
        "detail"]
    ids = one_each(api)
    api.post(f"/api/v1/referrals/{ids['jiritsu']}/cancel", json={"reason": "取り下げ"})
    assert_problem(api.get(f"/api/v1/referrals/{ids['jiritsu']}/letter.pdf"), 409)
    assert_problem(api.get("/api/v1/referrals/999999/letter.pdf"), 404)
    assert session.scalar(select(Disclosure).where(Disclosure.channel == "letter")) is None
    assert session.scalar(select(AckCode)) is None
    refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "letter")).all()
    assert [a.outcome for a in refused] == ["refused", "refused"]


def test_partners_and_the_anonymous_get_no_letter(api, anon, tokens):
    rid = one_each(api)["houkatsu"]
    assert_problem(anon.get(f"/api/v1/referrals/{rid}/letter.pdf"), 401)
    assert_problem(api.as_(tokens["partner:houkatsu"]).get(
        f"/api/v1/referrals/{rid}/letter.pdf"), 403)


def test_the_print_hook_answers_the_same_letter_and_logs_it(app, api, session, tokens):
    from caseapp.models import User

    rid = one_each(api)["houterasu"]
    user = session.scalar(select(User).where(User.name == "counter-1"))
    actor = Actor(user_id=user.id, name=user.name, role=user.role)
    pdf = letters.print_bytes(session, actor, rid, app.config["CASEAPP"])
    read = Read(pdf)
    assert read.has("法テラス") and read.qr().startswith("http://caseapp.test/api/v1/ack/")
    assert session.scalar(select(Disclosure.channel).where(Disclosure.referral_id == rid)) == \
        "letter"
