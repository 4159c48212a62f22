"""「テスト送信」: one signed test message to a partner's webhook, and its answer in Japanese.

It goes through the same gateway as referrals (netguard refuses private and reserved addresses
unless the deployment allows them, no redirects, bounded time), carries no personal data, and
is audited with its outcome. Nothing is queued or retried: the administrator sees the answer.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from caseapp.config import Config
from caseapp.domain import signing
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid
from caseapp.services.delivery import netguard
from caseapp.services.delivery.gateways import SendResult, WebhookGateway, WebhookRequest
from caseapp.services.network import partners

EVENT = "caseapp.test"


@dataclass(frozen=True)
class TestAnswer:
    ok: bool
    status_code: int | None
    elapsed_ms: int
    at: datetime
    message: str  # Japanese, for the administrator
    error: str | None  # the gateway's own words, for whoever debugs the endpoint


def send_test(session, actor: Actor, code: str, gateway: WebhookGateway,
              config: Config) -> TestAnswer:
    partner = partners.get(session, code)
    if not partner.webhook_url:
        raise Invalid("連携先の Webhook URL が保存されていません（no webhook URL）",
                      errors={"webhook_url": ["先に Webhook の URL を保存してください"]})
    problems = netguard.url_problems(partner.webhook_url, config.webhook_allow_private)
    if problems:
        raise Invalid("この URL には送れません（URL refused）", errors={"webhook_url": problems})
    if not partner.webhook_secret:
        raise Invalid("署名鍵がありません（no signing secret）",
                      errors={"webhook_url": ["URL を保存し直すと署名鍵が作られます"]})
    at = utcnow()
    message_id = f"test_{uuid.uuid4().hex}"
    body = json.dumps({"type": EVENT, "partner": partner.code, "sent_at": at.isoformat(),
                       "message": "caseapp からのテスト送信です（紹介ではありません）"},
                      ensure_ascii=False).encode("utf-8")
    timestamp = int(at.timestamp())
    request = WebhookRequest(partner.webhook_url, body,
                             signing.headers(partner.webhook_secret, message_id, timestamp, body))
    started = time.monotonic()
    result = gateway.post(request)
    elapsed = round((time.monotonic() - started) * 1000)
    answer = TestAnswer(result.ok, result.status_code, elapsed, at, describe(result),
                        result.error)
    audit.record(session, actor, "webhook_test", "partner", partner.code,
                 outcome="success" if result.ok else "failure",
                 detail={"status": result.status_code, "elapsed_ms": elapsed,
                         "error": result.error})
    session.commit()
    return answer


def describe(result: SendResult) -> str:
    """What the answer means, in Japanese."""
    if result.ok:
        return f"受け取られました（HTTP {result.status_code}）。"
    error = result.error or ""
    if result.gone:
        return ("連携先が「この宛先はもうない」と答えました（HTTP 410）。URL を確かめてください。"
                "この答えでは紹介の送信は止まりません（テスト送信のため）。")
    if result.status_code is not None:
        if 300 <= result.status_code < 400:
            return (f"転送の指示が返りました（HTTP {result.status_code}）。転送先には送りません。"
                    "正しい URL を登録してください。")
        if result.status_code in (401, 403):
            return (f"連携先が受け取りを拒みました（HTTP {result.status_code}）。"
                    "署名鍵が連携先の設定と一致しているか確かめてください。")
        if 400 <= result.status_code < 500:
            return f"連携先が要求を受け付けませんでした（HTTP {result.status_code}）。"
        return f"連携先のサーバーでエラーが起きました（HTTP {result.status_code}）。"
    if error.startswith("refused"):
        return "この宛先への送信は、安全のため許可されていません（内部のアドレスなど）。"
    if error.startswith("timeout"):
        return "時間内に応答がありませんでした（タイムアウト）。"
    if "ConnectError" in error or "Connection refused" in error:
        return "接続できませんでした。URL と連携先のサーバーが動いているかを確かめてください。"
    return "送信できませんでした。URL と連携先のサーバーを確かめてください。"
