"""Public acknowledgement links (no account): GET shows, POST acknowledges.

A person clicking the link in an e-mail gets a small page with one button; a script gets JSON.
Errors stay problem+json either way.
"""

from flask import current_app, make_response, render_template_string, request
from flask_smorest import Blueprint

from caseapp.api.auth import public
from caseapp.api.schemas.referrals import AckLinkOut
from caseapp.extensions import db
from caseapp.rules.calendar import TOKYO
from caseapp.services.referrals import ack_links

blp = Blueprint("ack", __name__, url_prefix="/api/v1/ack",
                description="受理確認リンク: mark a referral received from an e-mail, no login")

_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>つなぎの受理確認</title></head>
<body>
<h1>つなぎの受理確認</h1>
<p>{{ s.partner }} 宛てのつなぎ（番号 {{ s.referral_id }}）: 現在の状態 <b>{{ s.status }}</b></p>
{% if done %}<p>受理を記録しました。ありがとうございます。</p>{% endif %}
{% if s.can_acknowledge %}
<form method="post"><button type="submit">受理しました（received）</button></form>
<p>有効期限: {{ expires }}（日本時間）</p>
{% elif not done %}<p>このリンクで行える操作はありません。</p>{% endif %}
<p>詳細は受信箱で確認できます: {{ s.inbox_url }}</p>
</body></html>"""


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _render(summary: dict, *, done: bool):
    if _wants_html():
        # A Response passes through flask-smorest untouched; the dict path is serialised.
        expires = summary["expires_at"].astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        return make_response(render_template_string(_PAGE, s=summary, done=done,
                                                    expires=expires))
    return summary


@blp.route("/<string:token>", methods=["GET"])
@blp.response(200, AckLinkOut)
@public
def show(token):
    """What the link does; changes nothing (mail scanners open links)."""
    summary = ack_links.describe(db.session, token, current_app.config["CASEAPP"],
                                 source_ip=request.remote_addr)
    return _render(summary, done=False)


@blp.route("/<string:token>", methods=["POST"])
@blp.response(200, AckLinkOut)
@public
def acknowledge(token):
    """Mark the referral `received`; the link then stops working (single use, expiring)."""
    summary = ack_links.use(db.session, token, current_app.config["CASEAPP"],
                            source_ip=request.remote_addr,
                            user_agent=request.headers.get("User-Agent"))
    return _render(summary, done=True)
