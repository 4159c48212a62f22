"""RFC 9457 problem details for every error, including the ones Flask and webargs raise."""

import logging
import re
from http import HTTPStatus

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from caseapp.services.core.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# One title per status, whoever raised it (RFC 9457: the title does not vary between
# occurrences); the English reason phrase follows for clients that log it.
_TITLES_JA = {
    400: "リクエストの形式が正しくありません",
    401: "認証が必要です",
    403: "この操作は許可されていません",
    404: "見つかりません",
    405: "このメソッドは使えません",
    406: "この形式では返せません",
    409: "現在の状態ではこの操作はできません",
    410: "すでにありません",
    412: "前提条件が満たされていません",
    413: "リクエストが大きすぎます",
    415: "JSON で送ってください",
    422: "入力内容に誤りがあります",
    428: "前提条件の指定が必要です",
    429: "リクエストが多すぎます",
    500: "サーバーで問題が起きました",
    503: "依存するサービスが利用できません",
}


def title(status: int) -> str:
    try:
        english = HTTPStatus(status).phrase
    except ValueError:
        english = "Error"
    return f"{_TITLES_JA.get(status, 'エラーが起きました')}（{english}）"


def problem(status: int, detail: str | None = None, *, errors: dict | None = None,
            headers: dict | None = None, **extra):
    if detail and not _JAPANESE.search(detail):
        # Library and service texts still in English: the Japanese title leads.
        detail = f"{_TITLES_JA.get(status, 'エラーが起きました')}（{detail}）"
    body = {
        "type": "about:blank",
        "title": title(status),
        "status": status,
        "detail": detail or title(status),
        **extra,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"client.birth_date": [...]}``."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": messages}
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten(value, path))
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            out.update(flatten(value, f"{prefix}[{index}]"))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def _http_error(exc: HTTPException):
    status = exc.code or 500
    errors = None
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:
        # webargs nests by location; clients only send JSON bodies and query strings.
        merged: dict = {}
        for location_messages in messages.values():
            merged.update(flatten(location_messages))
        errors = merged
    detail = exc.description if status != 500 else None
    if status == 422 and errors:
        detail = "入力内容に誤りがあります。errors の各項目を確認してください。"
    if status == 400 and "JSON" in (exc.description or ""):
        detail = "JSON として読めません（malformed JSON body）"
    if status == 413:
        detail = "リクエストが大きすぎます（request body too large）"
    headers = {}
    if getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return problem(status, detail, errors=errors, headers=headers)


def _domain_error(exc: DomainError):
    errors = {k: v if isinstance(v, list) else [v] for k, v in (exc.errors or {}).items()}
    return problem(exc.status, exc.detail, errors=errors or None, **exc.extra)


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error")
    return _http_error(InternalServerError())


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unexpected)
