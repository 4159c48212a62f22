"""The Japanese font every PDF of caseapp embeds: IPAex Gothic, shipped with the package.

Embedding it (reportlab subsets the glyphs used) makes a PDF print the same on any viewer, with
no font installed and nothing fetched; the licence text lies beside the font file.
"""

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "IPAexGothic"
FONT_FILE = Path(__file__).resolve().parents[2] / "data" / "fonts" / "ipaexg.ttf"


@cache
def japanese() -> str:
    """Register the font once per process and return its name for reportlab styles."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT
