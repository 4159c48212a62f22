"""What every caseapp PDF draws alike: plain text as a paragraph, and a gridded table."""

from collections.abc import Callable
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, Table, TableStyle


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """Text taken as text (never as reportlab markup), its line breaks kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def grid_table(rows: list[list], style: ParagraphStyle, widths=None,
               text: Callable[[object], str] = str) -> Table:
    """A table whose first row is its header, repeated on every page."""
    table = Table([[paragraph(text(cell), style) for cell in row] for row in rows],
                  colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table
