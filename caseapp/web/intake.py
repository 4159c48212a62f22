"""``/consultations/new``: 相談受付 — the API's intake as a form, with a live routing preview.

The form's fields carry the API's names (``client.birth_date``, ``facts.age`` …), so the
API's own schema reads them and its messages land beside the same fields; the view only
turns form strings into the JSON shapes the schema expects.
"""

import re
from datetime import datetime

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from caseapp.api.schemas.consultations import ConsultationIn
from caseapp.api.schemas.rules import EvaluateIn
from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.rules.fields import BOOL_FACTS
from caseapp.rules.vocab import TOPICS
from caseapp.services.clients import proposals, records
from caseapp.services.core.errors import Invalid
from caseapp.services.intake import consultations, routing
from caseapp.services.network import partners
from caseapp.web.access import console_blueprint, current_actor, staff

bp = console_blueprint("console_intake", __name__, url_prefix="/consultations")

CLIENT_FIELDS = ("name", "name_kana", "birth_date", "phone", "address")
INT_FACTS = ("age", "household_size", "monthly_income", "savings", "rent")
_INT = re.compile(r"^[0-9０-９]+$")
MAX_DEBT_ROWS = 20


def _number(text: str):
    # A number typed with full-width digits is still a number; anything else goes to the
    # schema as typed, so its own message says what is wrong.
    text = text.strip().replace(",", "").replace("，", "")
    return int(text) if _INT.match(text) else text


def form_to_data(form, now: datetime | None = None) -> dict:
    """The request body the API would get for this form."""
    data: dict = {"channel": form.get("channel", ""), "urgency": form.get("urgency") or "normal",
                  "topics": form.getlist("topics"), "summary": form.get("summary", "")}
    who = chosen_side(form)
    if who == "existing" and form.get("client_id"):
        data["client_id"] = _number(form["client_id"])
    elif who == "new":
        data["client"] = {key: form.get(f"client.{key}", "").strip() or None
                          for key in CLIENT_FIELDS}
    facts: dict = {}
    for key in INT_FACTS:
        value = form.get(f"facts.{key}", "").strip()
        if value:
            facts[key] = _number(value)
    if form.get("facts.housing"):
        facts["housing"] = form["facts.housing"]
    for key in BOOL_FACTS:
        value = form.get(f"facts.{key}", "")
        if value in ("true", "false"):
            facts[key] = value == "true"
    debts = []
    for i in range(MAX_DEBT_ROWS):
        creditor = form.get(f"debts-{i}-creditor", "").strip()
        principal = form.get(f"debts-{i}-principal", "").strip()
        if creditor or principal:
            row: dict = {}
            if creditor:
                row["creditor"] = creditor
            if principal:
                row["principal"] = _number(principal)
            debts.append(row)
    if debts:
        facts["debts"] = debts
    data["facts"] = facts
    if who != "anonymous" and form.get("consent.given") == "yes":
        data["consent"] = {"scope": form.get("consent.scope", ""),
                           "method": form.get("consent.method", ""),
                           "given_at": (now or utcnow()).astimezone(TOKYO).isoformat()}
    return data


def chosen_side(form) -> str:
    """existing, new or anonymous; a person picked from the search with no new name typed is
    the person meant, whichever button is on."""
    who = form.get("who", "new")
    if who == "new" and form.get("client_id") and not form.get("client.name", "").strip():
        return "existing"
    return who


def form_problems(form) -> dict[str, list[str]]:
    """What only a form can get wrong: the API has no 'existing person' without an id."""
    if chosen_side(form) == "existing" and not form.get("client_id"):
        return {"client_id": [
            "登録済みの相談者を検索して選んでください（または「新しい人」「匿名」）"]}
    return {}


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"client.birth_date": [...]}``, the API's keys."""
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return {prefix.rstrip(".") or "_schema": messages}
        out: dict[str, list[str]] = {}
        for m in messages:
            for k, v in flatten(m, prefix).items():
                out.setdefault(k, []).extend(v)
        return out
    if isinstance(messages, str):
        return {prefix.rstrip(".") or "_schema": [messages]}
    out = {}
    for key, value in messages.items():
        for k, v in flatten(value, f"{prefix}{key}.").items():
            out.setdefault(k, []).extend(v)
    return out


def _debt_rows(form) -> list[dict]:
    rows = [{"creditor": form.get(f"debts-{i}-creditor", ""),
             "principal": form.get(f"debts-{i}-principal", "")}
            for i in range(MAX_DEBT_ROWS)]
    rows = [r for r in rows if r["creditor"] or r["principal"]]
    return rows or [{"creditor": "", "principal": ""}]


def _page(form, errors: dict | None = None, status: int = 200):
    values = form if form is not None else {}
    return render_template(
        "intake/new.html", v=values, topics=TOPICS, errors=errors or {},
        chosen=values.getlist("topics") if hasattr(values, "getlist") else [],
        debts=_debt_rows(values) if form is not None else [{"creditor": "", "principal": ""}],
        bool_facts=BOOL_FACTS), status


@bp.route("/new", methods=["GET"])
@staff(Permission.CONSULTATIONS_WRITE)
def new():
    return _page(None)


@bp.route("/new", methods=["POST"])
@staff(Permission.CONSULTATIONS_WRITE)
def create():
    data = form_to_data(request.form)
    problems = form_problems(request.form)
    try:
        loaded = ConsultationIn().load(data)
    except ValidationError as exc:
        return _page(request.form, {**flatten(exc.messages), **problems}, 422)
    if problems:
        return _page(request.form, problems, 422)
    try:
        result = consultations.record(db.session, current_actor(), loaded)
    except Invalid as exc:
        db.session.rollback()
        return _page(request.form, exc.errors or {"_schema": [str(exc)]}, 422)
    consultation = result.consultation
    return redirect(url_for("console_cases.show", case_id=consultation.case_id,
                            registered=consultation.id,
                            duplicates=",".join(str(d["client_id"])
                                                for d in result.possible_duplicates) or None))


@bp.route("/preview", methods=["POST"])
@staff(Permission.CONSULTATIONS_WRITE)
def preview():
    """Where this consultation would go, as the API's dry run answers; nothing is stored."""
    data = form_to_data(request.form)
    data.pop("consent", None)
    errors: dict = {}
    decisions, version = [], None
    try:
        loaded = EvaluateIn().load(data)
    except ValidationError as exc:
        errors = flatten(exc.messages)
    else:
        try:
            answer = routing.evaluate(db.session, current_actor(), loaded)
        except Invalid as exc:
            db.session.rollback()
            errors = exc.errors or {"_schema": [str(exc)]}
        else:
            decisions, version = answer["decisions"], answer["ruleset_version"]
    names = partner_names()
    emergency = data.get("urgency") == "emergency" or any(
        d.get("urgency") == "emergency" for d in decisions)
    duplicates = []
    if chosen_side(request.form) == "new" and isinstance(data.get("client"), dict):
        duplicates = proposals.for_details(db.session, current_actor(), _loaded_client(data))
    return render_template("intake/_preview.html", decisions=decisions, version=version,
                           errors=errors, partner_names=names, emergency=emergency,
                           duplicates=duplicates)


def partner_names() -> dict[str, str]:
    listed = partners.listing(db.session, active=None, page=1, per_page=200).items
    return {p.code: p.name for p in listed}


def _loaded_client(data: dict) -> dict:
    try:
        return ConsultationIn(only=("client",)).load({"client": data["client"]})["client"]
    except (ValidationError, KeyError):
        return {}


@bp.route("/people", methods=["GET"])
@staff(Permission.CONSULTATIONS_WRITE)
def people():
    """Search as you type: kana, kanji, old/new character forms or a phone number."""
    q = request.args.get("q", "").strip()
    hits = records.search(db.session, current_actor(), q, 1, 10).items if q else []
    return render_template("intake/_people.html", hits=hits, q=q,
                           chosen=request.args.get("client_id", ""))


@bp.route("/debt-row", methods=["GET"])
@staff(Permission.CONSULTATIONS_WRITE)
def debt_row():
    index = min(max(int(request.args.get("n", "1") or 1), 0), MAX_DEBT_ROWS - 1)
    return render_template("intake/_debt_row.html", i=index, n=index + 1, oob=True,
                           debt={"creditor": "", "principal": ""})
