"""The disclosure file as a PDF to hand to the person, with IPAex Gothic embedded.

Renders the document built by :func:`caseapp.services.rights.export.collect`; nothing here reads
the database, and nothing is fetched from outside (the font ships with the package).
"""

from __future__ import annotations

import io
import json
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from caseapp.services.core.fonts import FONT, FONT_FILE
from caseapp.services.core.fonts import japanese as _font
from caseapp.services.core.pdf import grid_table, paragraph

__all__ = ["FONT", "FONT_FILE", "render"]


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=15, leading=20, spaceAfter=4),
        "h": ParagraphStyle("h", parent=body, fontSize=11, leading=16, spaceBefore=8,
                            spaceAfter=3),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=11),
    }


def _text(value) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    # Times are all Asia/Tokyo (the page says so once); minutes are enough on paper.
    return value[:16].replace("T", " ", 1) if _looks_like_time(value) else str(value)


def _looks_like_time(value) -> bool:
    return isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T"


def _p(value, style) -> Paragraph:
    return paragraph(_text(value), style)


def _table(rows: list[list], style, widths=None) -> Table:
    return grid_table(rows, style, widths, text=_text)


def _section(story, s, title: str, header: list[str], rows: list[list], widths=None) -> None:
    story.append(Paragraph(escape(title), s["h"]))
    if rows:
        story.append(_table([header, *rows], s["cell"], widths))
    else:
        story.append(Paragraph("該当する記録はありません。", s["body"]))


def render(doc: dict) -> bytes:
    s = _styles()
    story = [Paragraph(escape(doc["title"]), s["title"]),
             Paragraph(escape(f"作成日時: {_text(doc['produced_at'])}　"
                              f"作成者: {doc['produced_by']['name']}"
                              f"（{doc['produced_by']['role']}）　相談者番号: {doc['client_id']}"),
                       s["body"]),
             Paragraph("当窓口が保有するあなたの個人データと、その第三者提供の記録、"
                       "閲覧の記録を開示します。日時はすべて日本時間です。", s["body"]),
             Spacer(1, 4 * mm)]
    labels = [("name", "氏名"), ("name_kana", "フリガナ"), ("birth_date", "生年月日"),
              ("sex", "性別"), ("phone", "電話番号"), ("postal_code", "郵便番号"),
              ("address", "住所"), ("district", "地区"), ("small_area", "小地域"),
              ("registered_at", "登録日時"), ("updated_at", "最終更新"),
              ("merged_into", "統合先"), ("anonymised_at", "匿名化日時")]
    for record in doc["records"]:
        title = ("基本情報" if record["id"] == doc["client_id"]
                 else f"統合された記録（番号 {record['id']}）")
        _section(story, s, title, ["項目", "内容"],
                 [[label, record.get(key)] for key, label in labels], [40 * mm, 130 * mm])
    _section(story, s, "訂正・統合の履歴（第34条）", ["日時", "種別", "項目", "担当"],
             [[c["at"], "訂正" if c["kind"] == "correction" else "統合",
               "、".join(i["label"] for i in c["items"]), c["by"]]
              for c in doc["corrections"]])
    household = doc.get("household")
    _section(story, s, "世帯", ["世帯番号", "続柄", "登録日時"],
             [[household["household_id"], household["relationship_label"], household["since"]]]
             if household else [])
    _section(story, s, "支援ケース", ["番号", "状態", "開始", "終結", "担当", "次の対応"],
             [[c["id"], c["status_label"], c["opened_at"], c["closed_at"], c["owner"],
               c["next_action"]] for c in doc["cases"]])
    _section(story, s, "相談の記録", ["日時", "方法", "相談内容", "概要"],
             [[c["received_at"], c["channel_label"], "、".join(t["label"] for t in c["topics"]),
               c["summary"]] for c in doc["consultations"]],
             [30 * mm, 18 * mm, 45 * mm, 77 * mm])
    _section(story, s, "つなぎ（連携機関への紹介）", ["番号", "連携機関", "状態", "根拠", "理由"],
             [[r["id"], r["partner"]["name"], r["status_label"], r["legal_basis_label"],
               r["reason"]] for r in doc["referrals"]],
             [12 * mm, 40 * mm, 18 * mm, 45 * mm, 55 * mm])
    _section(story, s, "情報共有の同意", ["番号", "範囲", "方法", "同意日時", "期限", "撤回"],
             [[c["id"], "連携機関全体" if c["scope"] == "network" else "、".join(c["partners"]),
               c["method"], c["given_at"], c["expires_at"], c["withdrawn_at"]]
              for c in doc["consents"]])
    _section(story, s, "利用停止（第35条）", ["停止日時", "理由", "解除日時", "解除理由"],
             [[u["stopped_at"], u["reason"], u["lifted_at"], u["lift_reason"]]
              for u in doc["use_stops"]])
    _section(story, s, "第三者提供の記録（第33条第5項）",
             ["日時", "提供先", "方法", "提供した項目", "根拠"],
             [[p["at"], (p["partner"] or {}).get("name") or _recipients(p), p["channel_label"],
               "、".join(p["items"]), p["basis_label"]] for p in doc["provisions"]],
             [30 * mm, 35 * mm, 25 * mm, 45 * mm, 35 * mm])
    _section(story, s, "閲覧の記録", ["日時", "職員", "操作", "対象"],
             [[a["at"], f"{a['who']}（{a['role']}）", a["action_label"],
               f"{a['resource']} {a['resource_id'] or ''}"] for a in doc["access_log"]])
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=doc["title"], author="caseapp",
                      leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm).build(story, onFirstPage=_footer,
                                                  onLaterPages=_footer)
    return buffer.getvalue()


def _recipients(provision: dict) -> str | None:
    """A meeting sheet went to the people at the table, named."""
    if not provision.get("recipients"):
        return provision.get("to")
    return f"{provision['to']}: {'、'.join(provision['recipients'])}"


def _footer(canvas, document) -> None:
    canvas.saveState()
    canvas.setFont(_font(), 8)
    canvas.drawRightString(A4[0] - 18 * mm, 8 * mm, f"{document.page} ページ")
    canvas.restoreState()
