"""Areas: the tree 県 → ブロック → 市町村 → 地区 → 小地域, its import and its shipped seeds."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from caseapp.domain.community import LEVEL_LABELS, AreaLevel, meeting_due_on, parent_level
from caseapp.jp import lg_code
from caseapp.models import Area, AreaAddressKey, Meeting
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO, next_business_morning
from caseapp.services.core import audit, places
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid
from caseapp.services.core.lookup import not_found
from caseapp.services.core.pagination import Page

COLUMNS = ("level", "code", "name", "parent", "hub", "visit_interval_days", "meetings_per_year",
           "address_keys")
SEEDS = {"nankoku": ("kochi.csv",), "hidaka": ("kochi.csv", "hidaka.csv"),
         "nakatosa": ("kochi.csv", "nakatosa.csv")}
DEFAULT_VISIT_INTERVAL_DAYS = 30
MAX_ROWS = 5000


@dataclass
class ImportResult:
    added: list[str]
    updated: list[str]


# The seeds' short names for their municipalities (`--municipality nakatosa`).
MUNICIPALITY_NAMES = {"nankoku": "392049", "nakatosa": "394017", "hidaka": "394106"}


def municipality(session: Session, code: str | None) -> Area:
    """A municipality by national code or seed name; without one, the only municipality there is.

    An empty database gets Nankoku's areas first, so a first user needs nothing configured.
    """
    if code is None:
        found = session.scalars(select(Area).where(Area.level == AreaLevel.MUNICIPALITY)
                                .limit(2)).all()
        if not found:
            seed(session, "nankoku")
            found = [session.scalar(select(Area).where(Area.code == MUNICIPALITY_NAMES["nankoku"]))]
        if len(found) > 1:
            raise Invalid("市町村が複数あります。--municipality で指定してください"
                          "（several municipalities: name one）",
                          errors={"municipality": ["市町村が複数あります。--municipality で指定して"
                                                   "ください"]})
        return found[0]
    code = MUNICIPALITY_NAMES.get(code, code)
    area = session.scalar(select(Area).where(Area.code == code,
                                             Area.level == AreaLevel.MUNICIPALITY))
    if area is None:
        raise Invalid(f"市町村 {code} は登録されていません（unknown municipality）",
                      errors={"municipality": [f"市町村 {code} は登録されていません"]})
    return area


def by_code(session: Session, code: str, *, field: str = "area") -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise Invalid(f"地域コード {code} は登録されていません（unknown area {code!r}）",
                      errors={field: [f"地域コード {code} は登録されていません"]})
    return area


def get_by_code(session: Session, code: str) -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise not_found("area", code)
    return area


def ancestors(area: Area) -> list[Area]:
    """The area and those above it, nearest first."""
    chain, node = [], area
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def setting(area: Area, name: str):
    """A setting read up the tree: the nearest area that sets it decides."""
    return next((getattr(a, name) for a in ancestors(area) if getattr(a, name) is not None),
                None)


def visit_interval_days(area: Area) -> int:
    return setting(area, "visit_interval_days") or DEFAULT_VISIT_INTERVAL_DAYS


def coordinator_id(area: Area) -> int | None:
    return setting(area, "coordinator_id")


def municipality_of(area: Area) -> Area | None:
    return next((a for a in ancestors(area) if a.level == AreaLevel.MUNICIPALITY), None)


# A partner of these layers serves the area of that level above its municipality; one of a
# district or neighbourhood is still the municipality's own.
_SERVES = {"prefecture": AreaLevel.PREFECTURE, "block": AreaLevel.BLOCK}


def serving_area(town: Area, layer: str | None) -> Area:
    """The area a partner of ``layer`` in ``town`` serves: its block, the prefecture, or the
    town itself (also when the tree has no area of that level above it)."""
    level = _SERVES.get(layer or "")
    return next((a for a in ancestors(town) if a.level == level), town) if level else town


def listing(session: Session, actor: Actor, *, visible: set[int] | None, level: str | None,
            under: str | None, page: int, per_page: int) -> Page:
    query = select(Area).options(selectinload(Area.parent), selectinload(Area.address_keys))
    if visible is not None:
        query = query.where(Area.id.in_(visible))
    if level:
        query = query.where(Area.level == level)
    if under:
        query = query.where(Area.id.in_(places.subtree_ids(session, get_by_code(session, under))))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Area.code).limit(per_page)
                                .offset((page - 1) * per_page)))
    audit.record(session, actor, "list", "area", None, detail={"results": len(rows)})
    session.commit()
    return Page(rows, total, page, per_page)


def level_label(level: str) -> str:
    return LEVEL_LABELS.get(level, level)


# --------------------------------------------------------------------------- schedule


def refresh_meeting_due(session: Session, area: Area) -> None:
    """When the next meeting of an area with a schedule is owed (business morning after the day)."""
    per_year = setting(area, "meetings_per_year") if area.level == AreaLevel.SMALL_AREA else None
    if not per_year:
        area.meeting_due_at = None
        return
    last = session.scalar(select(func.max(Meeting.held_on)).where(Meeting.area_id == area.id))
    since = (area.created_at or utcnow()).astimezone(TOKYO).date()
    due_on = meeting_due_on(last, since, per_year)
    start = datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=TOKYO)
    area.meeting_due_at = next_business_morning(start)


# --------------------------------------------------------------------------- import


def read_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("level", "code", "name", "parent") if c not in (reader.fieldnames or [])]
    if missing:
        raise Invalid("見出し行に足りない列があります（CSV header lacks columns）",
                      errors={"header": [f"列がありません: {', '.join(missing)}"]})
    rows = list(reader)
    if len(rows) > MAX_ROWS:
        raise Invalid(f"行が多すぎます。{MAX_ROWS} 行までにしてください"
                      "（too many rows）", errors={"rows": [f"{MAX_ROWS} 行までにしてください"]})
    return rows


def import_csv(session: Session, actor: Actor, text: str) -> ImportResult:
    """A municipality's 地区 and 小地域 (and their address keys); all rows or none.

    An existing code keeps its place and takes the new name, hub, settings and keys; this is how
    placeholder names are replaced by the municipality's own.
    """
    return _load(session, actor, read_csv(text),
                 levels=(AreaLevel.DISTRICT, AreaLevel.SMALL_AREA), one_municipality=True)


def seed(session: Session, name: str) -> ImportResult:
    """Load the shipped areas of a seed (idempotent: existing codes are left as they are)."""
    from caseapp.services.core.actors import SYSTEM

    added: list[str] = []
    for filename in SEEDS[name]:
        text = resources.files("caseapp.data").joinpath("areas", filename).read_text("utf-8")
        rows = read_csv(text)
        known = set(session.scalars(select(Area.code)))
        fresh = [row for row in rows if row["code"] not in known]
        if fresh:
            added += _load(session, SYSTEM, fresh, levels=tuple(AreaLevel),
                           one_municipality=False).added
    return ImportResult(added, [])


def _int(value: str | None, line: int, column: str, errors: dict) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 3650:
        errors.setdefault(f"{line}行目", []).append(f"{column} は 1〜3650 の整数にしてください")
        return None
    return int(value)


def _load(session: Session, actor: Actor, rows: list[dict], *, levels: tuple,
          one_municipality: bool) -> ImportResult:
    errors: dict[str, list[str]] = {}
    existing = {a.code: a for a in session.scalars(select(Area).options(
        selectinload(Area.parent), selectinload(Area.address_keys)))}
    in_file: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):
        row = {key: (row.get(key) or "").strip() for key in COLUMNS}
        problems = errors.setdefault(f"{line}行目", [])
        code, level = row["code"], row["level"]
        if level not in levels:
            problems.append(f"level は {', '.join(levels)} のいずれかにしてください")
        elif level == AreaLevel.MUNICIPALITY and not lg_code.is_valid(code):
            problems.append(f"市町村の code は全国地方公共団体コード（6桁）にしてください: {code}")
        if not code or len(code) > 40 or not row["name"] or len(row["name"]) > 100:
            problems.append("code（40字まで）と name（100字まで）は必須です")
        if code in in_file:
            problems.append(f"code {code} が重複しています")
        if code in existing and level and existing[code].level != level:
            problems.append(f"{code} は {existing[code].level} として登録済みです")
        row["visit_interval_days"] = _int(row["visit_interval_days"], line, "visit_interval_days",
                                          errors)
        row["meetings_per_year"] = _int(row["meetings_per_year"], line, "meetings_per_year",
                                        errors)
        row["line"] = line
        in_file[code] = row
    for code, row in in_file.items():
        problems = errors.setdefault(f"{row['line']}行目", [])
        if row["level"] not in tuple(AreaLevel):
            continue
        want = parent_level(row["level"])
        parent = row["parent"]
        parent_level_found = (in_file[parent]["level"] if parent in in_file
                              else existing[parent].level if parent in existing else None)
        if want is None and parent:
            problems.append("県域には parent を指定しません")
        elif want is not None and parent_level_found is None:
            problems.append(f"parent {parent or '（空）'} が見つかりません")
        elif want is not None and parent_level_found != want:
            problems.append(f"parent {parent} は {want} ではありません")
        if code in existing and existing[code].parent is not None \
                and existing[code].parent.code != parent:
            problems.append(f"{code} の parent は {existing[code].parent.code} です"
                            "（移動はできません）")
    if one_municipality and not any(errors.values()):
        towns = {_municipality_code(code, in_file, existing) for code in in_file}
        if len(towns) > 1:
            errors["rows"] = ["一つの市町村の地区・小地域だけにしてください: "
                              + ", ".join(sorted(t or "?" for t in towns))]
    errors = {key: value for key, value in errors.items() if value}
    if errors:
        raise Invalid("地域のファイルに誤りがあります。errors の各行を確認してください"
                      "（the area file has errors）", errors=errors)

    result = ImportResult([], [])
    areas = dict(existing)
    ordered = sorted(in_file.values(), key=lambda r: tuple(AreaLevel).index(r["level"]))
    for row in ordered:
        area = areas.get(row["code"])
        if area is None:
            area = Area(code=row["code"], level=row["level"], created_at=utcnow())
            session.add(area)
            areas[row["code"]] = area
            result.added.append(row["code"])
        else:
            result.updated.append(row["code"])
        area.name = row["name"]
        area.parent = areas.get(row["parent"]) if row["parent"] else None
        area.hub = row["hub"] or None
        area.visit_interval_days = row["visit_interval_days"]
        area.meetings_per_year = row["meetings_per_year"]
        keys = [k.strip() for k in row["address_keys"].split(";") if k.strip()]
        if keys or row["code"] in result.added:
            area.address_keys = [AreaAddressKey(key=k[:100]) for k in dict.fromkeys(keys)]
    session.flush()
    for row in ordered:
        refresh_meeting_due(session, areas[row["code"]])
    audit.record(session, actor, "import", "area", None,
                 detail={"added": len(result.added), "updated": len(result.updated)})
    session.commit()
    return result


def _municipality_code(code: str, in_file: dict, existing: dict) -> str | None:
    seen = set()
    while code and code not in seen:
        seen.add(code)
        level = in_file[code]["level"] if code in in_file else existing[code].level
        if level == AreaLevel.MUNICIPALITY:
            return code
        code = in_file[code]["parent"] if code in in_file else (
            existing[code].parent.code if existing[code].parent else None)
    return None
