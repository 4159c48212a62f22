"""Places: which area an address falls in, and an area by its code, for any service."""

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.models import Area, AreaAddressKey
from caseapp.services.core.errors import Invalid


def by_code(session: Session, code: str, *, field: str = "area") -> Area:
    """An area the session may see, or a 422 naming the field."""
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise Invalid(f"地域コード {code} は登録されていません（unknown area {code!r}）",
                      errors={field: [f"地域コード {code} は登録されていません"]})
    return area


def subtree_ids(session: Session, area: Area) -> set[int]:
    """The area and every area below it (a few hundred rows at most: read in one query)."""
    children: dict[int | None, list[int]] = {}
    for ident, parent in session.execute(select(Area.id, Area.parent_id)):
        children.setdefault(parent, []).append(ident)
    found, todo = set(), [area.id]
    while todo:
        ident = todo.pop()
        found.add(ident)
        todo.extend(children.get(ident, []))
    return found


def resolve(session: Session, municipality_id: int | None, address: str | None) -> int | None:
    """The 小地域 or 地区 of an address, by the longest address key (町名・大字・字) it contains.

    None when no key matches or when the longest match names two different areas: an address
    stays unresolved rather than guessed.
    """
    if not address or municipality_id is None:
        return None
    text = unicodedata.normalize("NFKC", address).replace(" ", "")
    town = session.get(Area, municipality_id)
    if town is None:
        return None
    inside = subtree_ids(session, town)
    best: dict[int, int] = {}
    for key in session.execute(select(AreaAddressKey.area_id, AreaAddressKey.key)
                               .where(AreaAddressKey.area_id.in_(inside))):
        needle = unicodedata.normalize("NFKC", key.key).replace(" ", "")
        if needle and needle in text:
            best[key.area_id] = max(best.get(key.area_id, 0), len(needle))
    if not best:
        return None
    longest = max(best.values())
    found = [area for area, length in best.items() if length == longest]
    return found[0] if len(found) == 1 else None
