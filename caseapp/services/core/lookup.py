"""Loading one row by its id, or saying it is not there."""

from typing import TypeVar

from sqlalchemy.orm import Session

from caseapp.services.core.errors import NotFound

Row = TypeVar("Row")

# What counter staff call each kind of record, keyed by the English name the detail keeps.
LABELS = {
    "alert": "通知",
    "area": "地区",
    "case": "ケース",
    "client": "相談者",
    "communitytask": "見守りの対応",
    "consent": "同意",
    "consultation": "相談",
    "event": "相談会",
    "household": "世帯",
    "meeting": "会議",
    "referral": "つなぎ",
    "watch entry": "見守り",
}


def not_found(kind: str, ident: object) -> NotFound:
    """「つなぎ No. 12 は見つかりません（referral 12 not found）」: Japanese first, English kept."""
    label = LABELS.get(kind, "記録")
    number = f"No. {ident}" if isinstance(ident, int) else f"「{ident}」"
    return NotFound(f"{label} {number} は見つかりません（{kind} {ident} not found）")


def get_or_404(session: Session, model: type[Row], ident: int, **options) -> Row:
    """The row with this id, or :class:`NotFound` naming it (「ケース No. 7 は見つかりません」).

    ``options`` go to :meth:`Session.get` (``with_for_update``, ``populate_existing``, ...).
    """
    row = session.get(model, ident, **options)
    if row is None:
        raise not_found(model.__name__.lower(), ident)
    return row
