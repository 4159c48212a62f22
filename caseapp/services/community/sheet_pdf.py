"""The meeting sheet as a PDF for the table, IPAex Gothic embedded; nothing fetched from outside.

Renders what :func:`caseapp.services.community.meetings.sheet` collected; reads no database.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from caseapp.services.core import fonts
from caseapp.services.core.pdf import grid_table, paragraph

PAGE = landscape(A4)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("sheet", fontName=fonts.japanese(), fontSize=9, leading=13,
                          wordWrap="CJK")
    return {"title": ParagraphStyle("sheet-title", parent=body, fontSize=15, leading=20),
            "h": ParagraphStyle("sheet-h", parent=body, fontSize=11, leading=16, spaceBefore=8,
                                spaceAfter=3),
            "body": body,
            "cell": ParagraphStyle("sheet-cell", parent=body, fontSize=9, leading=12)}


def _text(value) -> str:
    return str(value if value not in (None, "") else "—")


def _p(value, style) -> Paragraph:
    return paragraph(_text(value), style)


def _table(header: list[str], rows: list[list], style, widths) -> Table:
    return grid_table([header, *rows], style, widths, text=_text)


def render(sheet: dict) -> bytes:
    s = _styles()
    story = [Paragraph(escape(sheet["title"]), s["title"]),
             Paragraph(escape(f"{sheet['municipality']}　開催日: {sheet['held_on']}　"
                              f"出席: {'、'.join(sheet['attendees']) or '—'}"), s["body"]),
             Paragraph("取扱注意: 会議の場でのみ使い、終了後に回収します。"
                       "見守りのための最小限の情報だけを載せています。", s["body"]),
             Spacer(1, 3 * mm),
             Paragraph("見守り対象者", s["h"])]
    if sheet["people"]:
        story.append(_table(
            ["氏名", "住所", "見守りのポイント", "最終訪問", "今日の確認（状況・気づき）"],
            [[p["name"], p["address"], p["watch_for"], p["last_visit"], ""]
             for p in sheet["people"]],
            s["cell"], [35 * mm, 55 * mm, 60 * mm, 35 * mm, 70 * mm]))
    else:
        story.append(Paragraph("この出席者で確認できる見守り対象者はいません。", s["body"]))
    if sheet["withheld"]:
        story.append(Paragraph(f"ほか {sheet['withheld']} 名は、提供の範囲に出席者の役割が"
                               "含まれないため載せていません。", s["body"]))
    story.append(Paragraph("地域福祉活動計画（実施計画）", s["h"]))
    if sheet["plan"]:
        story.append(_table(["項目", "目標", "担当", "前回の評価", "今回の評価・メモ"],
                            [[i["title"], i["target"], i["owner"], i["last"], ""]
                             for i in sheet["plan"]],
                            s["cell"], [55 * mm, 65 * mm, 35 * mm, 25 * mm, 75 * mm]))
    else:
        story.append(Paragraph("計画の項目は登録されていません。", s["body"]))
    buffer = io.BytesIO()
    footer = f"印刷 {sheet['printed_at']}（日本時間）{sheet['printed_by']}"

    def page(canvas, document):
        canvas.saveState()
        canvas.setFont(fonts.japanese(), 8)
        canvas.drawString(15 * mm, 8 * mm, footer)
        canvas.drawRightString(PAGE[0] - 15 * mm, 8 * mm, f"{document.page} ページ")
        canvas.restoreState()

    SimpleDocTemplate(buffer, pagesize=PAGE, title=sheet["title"], author="caseapp",
                      leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm,
                      bottomMargin=15 * mm).build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()
