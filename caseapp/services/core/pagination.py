from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int


def paginate(session: Session, query: Select, page: int, per_page: int) -> Page:
    """One page of an ordered query and the total count, the shape every list answers with."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total or 0, page, per_page)
