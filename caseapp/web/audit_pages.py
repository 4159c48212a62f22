"""``/audit``: the audit log for supervisors, filtered by person, resource, staff member and
date. Each look at it is itself a line of the log (the service records it)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request

from caseapp.extensions import db
from caseapp.jp.wareki import parse_date
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit_queries
from caseapp.web.access import ROLE_LABELS, console_blueprint, current_actor, staff

bp = console_blueprint("audit_log", __name__, url_prefix="/audit")

PER_PAGE = 50
FIELDS = ("person", "resource", "resource_id", "actor", "from", "to")
# The names the log uses, as people say them.
ACTION_LABELS = {"read": "閲覧", "list": "一覧の閲覧", "create": "作成", "update": "変更",
                 "delete": "削除", "sign_in": "サインイン", "sign_out": "サインアウト",
                 "access": "アクセス", "set_password": "パスワード設定",
                 "change_password": "パスワード変更",
                 "create_user": "利用者作成",
                 "revoke": "利用停止", "reinstate": "利用再開", "webhook_test": "テスト送信",
                 "replay": "ルールの試行", "export": "書き出し", "disclose": "提供"}
OUTCOME_LABELS = {"success": "成功", "denied": "拒否", "failure": "失敗"}


def _tokyo(at: datetime) -> str:
    return at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")


def _filters(args) -> tuple[dict, dict]:
    """Query arguments as the service's filters, and per-field Japanese messages."""
    filters: dict = {}
    errors: dict[str, list[str]] = {}
    person = args.get("person", "").strip()
    if person:
        if person.isdigit():
            filters["person"] = int(person)
        else:
            errors["person"] = ["相談者の番号を半角数字で入力してください"]
    for key, limit in (("resource", 50), ("resource_id", 50), ("actor", 100)):
        value = args.get(key, "").strip()
        if len(value) > limit:
            errors[key] = [f"{limit} 文字以内にしてください"]
        elif value:
            filters[key] = value
    for key, target, shift in (("from", "at_from", 0), ("to", "at_to", 1)):
        value = args.get(key, "").strip()
        if not value:
            continue
        try:
            day = parse_date(value)
        except ValueError as exc:
            errors[key] = [str(exc).split(" / ")[0]]  # the Japanese half
            continue
        # "to" includes the whole day: entries before the next midnight in Tokyo.
        filters[target] = datetime.combine(day + timedelta(days=shift), time(), TOKYO)
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    filters.update(page=page, per_page=PER_PAGE)
    return filters, errors


@bp.route("")
@staff(Permission.AUDIT_READ)
def log():
    filters, errors = _filters(request.args)
    form = {key: request.args.get(key, "") for key in FIELDS}
    result = None if errors else audit_queries.search(db.session, current_actor(), filters)
    pages = 0 if result is None else max(1, -(-result.total // result.per_page))
    query = {k: v for k, v in form.items() if v}
    return render_template("audit/log.html", form=form, errors=errors, result=result,
                           pages=pages, query=query, tokyo=_tokyo, actions=ACTION_LABELS,
                           outcomes=OUTCOME_LABELS, roles=ROLE_LABELS), 422 if errors else 200
