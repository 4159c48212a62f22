"""The 紹介状 as an A4 PDF: IPAex Gothic embedded, the acknowledgement QR code drawn in.

Renders the document built by :mod:`caseapp.services.referrals.letters`; nothing here reads the
database or decides what may be shown (that is the partner view), and nothing is fetched.
The QR code is made by segno (ISO/IEC 18004, no dependencies) as a lossless 1-bit PNG, which
prints sharp and which PDF tools can take back out of the file.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from caseapp.services.core.fonts import japanese

QR_SIZE = 38 * mm
_WIDTH = A4[0] - 40 * mm


def _styles() -> dict[str, ParagraphStyle]:
    font = japanese()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1,
                                spaceAfter=6),
        "right": ParagraphStyle("right", parent=body, alignment=2),
        "to": ParagraphStyle("to", parent=body, fontSize=13, leading=20),
        "h": ParagraphStyle("h", parent=body, fontSize=12, leading=18, spaceBefore=6,
                            spaceAfter=3),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=13),
        "code": ParagraphStyle("code", parent=body, fontSize=20, leading=28),
    }


def _p(text: str | None, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text or "—").replace("\n", "<br/>"), style)


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=4, border=4)
    return buffer.getvalue()


def render(doc: dict) -> bytes:
    """``doc``: the letter's texts (see ``letters.document``); answers the PDF's bytes."""
    s = _styles()
    sender = doc["sender"]
    story = [
        _p(f"{doc['date']}　No. {doc['referral_id']}", s["right"]),
        Spacer(1, 4 * mm),
        _p("紹介状", s["title"]),
        _p(f"{doc['partner']} 御中", s["to"]),
        Spacer(1, 3 * mm),
        _p(f"紹介元: {sender['counter']}\n担当: {sender['staff']}\n"
           f"連絡先: {sender['contact'] or '—'}", s["right"]),
        Spacer(1, 5 * mm),
        _p("下記の方をご紹介いたします。ご対応くださいますよう、よろしくお願い申し上げます。",
           s["body"]),
        Spacer(1, 3 * mm),
    ]
    rows = [[_p(label, s["body"]), _p(value, s["body"])] for label, value in doc["rows"]]
    table = Table(rows, colWidths=[35 * mm, _WIDTH - 35 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), japanese()),  # else cells set Helvetica, not embedded
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    if doc["withheld_note"]:
        story += [Spacer(1, 2 * mm), _p(doc["withheld_note"], s["small"])]
    ack = doc["ack"]
    story += [Spacer(1, 6 * mm), _p("受け取りのご連絡のお願い", s["h"])]
    instructions = [
        _p("この紹介状をお受け取りになりましたら、左の QR コードを読み取るか、"
           f"{ack['form_url']} で次の受付コードを入力してください（ログイン不要・1 回限り）。",
           s["body"]),
        Spacer(1, 2 * mm),
        _p(f"受付コード: {ack['code']}", s["code"]),
        _p(f"有効期限: {ack['expires']}まで", s["body"]),
        _p("期限を過ぎた場合は、紹介元までお電話などでご連絡ください。", s["small"]),
    ]
    block = Table([[Image(io.BytesIO(qr_png(ack["url"])), QR_SIZE, QR_SIZE), instructions]],
                  colWidths=[QR_SIZE + 6 * mm, _WIDTH - QR_SIZE - 6 * mm])
    block.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), japanese()),
                               ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [block, Spacer(1, 4 * mm),
              _p("この紹介状には個人情報が含まれています。取り扱いにご注意ください。",
                 s["small"])]
    buffer = io.BytesIO()
    # The canvas starts in the embedded font too, so the file names no font it does not carry.
    SimpleDocTemplate(buffer, pagesize=A4, title=f"紹介状 No. {doc['referral_id']}",
                      author=sender["counter"], leftMargin=20 * mm, rightMargin=20 * mm,
                      topMargin=18 * mm, bottomMargin=15 * mm, lang="ja-JP",
                      initialFontName=japanese()).build(story)
    return buffer.getvalue()
