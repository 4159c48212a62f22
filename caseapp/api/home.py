"""``GET /``: a small Japanese page pointing at what this server offers.

A placeholder until the staff console is mounted at ``/``; it names no person and needs no login.
"""

from flask import Blueprint, Response, render_template_string

from caseapp.api.auth import public

blp = Blueprint("home", __name__)

_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>caseapp 相談窓口</title></head>
<body>
<h1>caseapp — 断らない・迷子にさせない相談窓口</h1>
<ul>
<li><a href="{{ url_for('api-docs.openapi_swagger_ui') }}">API の説明（Swagger UI）</a></li>
<li><a href="{{ url_for('api-docs.openapi_json') }}">OpenAPI 文書（JSON）</a></li>
<li><a href="{{ url_for('health.health') }}">稼働状況（health）</a></li>
</ul>
<p>職員用の画面は準備中です。API はトークン（Authorization: Bearer）で利用できます。</p>
</body></html>"""


@blp.route("/")
@public
def index():
    return Response(render_template_string(_PAGE), mimetype="text/html")
