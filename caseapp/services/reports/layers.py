"""Reports by layer: a municipality's figures per 地区 and 小地域, and the prefecture's counts per
municipality and block — no personal data, small cells suppressed."""

import csv
import io
from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp.domain.community import AreaLevel
from caseapp.models import Area, Case, Client, Consultation
from caseapp.models.types import utcnow
from caseapp.services.core import audit, scope
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Forbidden
from caseapp.services.reports import rollup
from caseapp.services.reports.figures import Period, closed, runs, within

# Cells of 1 to 4 are withheld: in a village of a few thousand, a small count can name a person.
SMALL_CELL = 5
UNRESOLVED = "未判定"


def _consultations(period: Period):
    return (Consultation.received_at >= period.start) & (Consultation.received_at < period.end)


def _town_counts(session: Session, towns, period: Period, now: datetime) -> tuple[dict, dict]:
    """Consultations and new cases per municipality: the closed months every town has an
    up-to-date rollup row for from those rows, the rest from the base tables."""
    months = closed(period, now)
    stored = rollup.fresh_by_town(session, towns, months)
    done = [m for m in months if all((t, m) in stored for t in towns)]
    consultations: Counter = Counter()
    cases: Counter = Counter()
    ranges = runs(period.month_list(), done)
    if ranges:
        consultations.update(dict(session.execute(
            select(Consultation.municipality_id, func.count())
            .where(within(Consultation.received_at, ranges))
            .group_by(Consultation.municipality_id)).all()))
        cases.update(dict(session.execute(
            select(Case.municipality_id, func.count()).where(within(Case.created_at, ranges))
            .group_by(Case.municipality_id)).all()))
    for (town, month), figures in stored.items():
        if month in done:
            consultations[town] += sum(c[0] for c in figures.counts["month"].values())
            cases[town] += sum(figures.new_cases.values())
    return dict(consultations), dict(cases)


def prefecture(session: Session, actor: Actor, period: Period,
               now: datetime | None = None) -> dict:
    """Counts per municipality and block for the prefecture council: totals add up from the
    true counts; a cell below SMALL_CELL is withheld, and so is the next smallest of its block
    when it is the block's only withheld one, so no cell can be found by subtraction."""
    visible = scope.current(session)
    if visible is None or actor.role != "prefecture":
        raise Forbidden("県域の集計は県の利用者だけが読めます（prefecture role only）")
    consultations, cases = _town_counts(session, visible.municipalities, period,
                                        now or utcnow())
    tree = session.execute(select(Area.id, Area.code, Area.name, Area.level, Area.parent_id)
                           .order_by(Area.code)).all()
    towns_of: dict[int, list] = defaultdict(list)
    for row in tree:
        if row.level == AreaLevel.MUNICIPALITY and row.id in visible.municipalities:
            towns_of[row.parent_id].append(row)
    blocks = []
    for block in (r for r in tree if r.level == AreaLevel.BLOCK and towns_of.get(r.id)):
        towns = [{"code": t.code, "name": t.name,
                  "consultations": consultations.get(t.id, 0), "new_cases": cases.get(t.id, 0)}
                 for t in towns_of[block.id]]
        totals = {k: sum(t[k] for t in towns) for k in ("consultations", "new_cases")}
        for key in ("consultations", "new_cases"):
            _suppress(towns, key)
        blocks.append({"code": block.code, "name": block.name, **_cell_dict(totals),
                       "municipalities": towns})
    total = {k: sum(consultations.get(m, 0) if k == "consultations" else cases.get(m, 0)
                    for m in visible.municipalities) for k in ("consultations", "new_cases")}
    audit.record(session, actor, "read", "report", "prefecture",
                 detail={"from": period.first, "to": period.last})
    session.commit()
    return {"from": period.first, "to": period.last, "suppressed_below": SMALL_CELL,
            "total": _cell_dict(total), "blocks": blocks}


WITHHELD = "—"  # how a withheld cell is shown on the page and in the CSV


def prefecture_csv(data: dict) -> bytes:
    """The prefecture report as CSV (UTF-8 with BOM, for Excel): a row per municipality, each
    block's subtotal and the total; a withheld cell is written as WITHHELD."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["ブロック", "市町村コード", "市町村", "相談件数", "新規ケース"])

    def cells(row: dict) -> list:
        return [WITHHELD if row[k] is None else row[k] for k in ("consultations", "new_cases")]

    for block in data["blocks"]:
        for town in block["municipalities"]:
            writer.writerow([block["name"], town["code"], town["name"], *cells(town)])
        writer.writerow([block["name"], "", "ブロック計", *cells(block)])
    writer.writerow(["", "", "合計", *cells(data["total"])])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell_dict(counts: dict) -> dict:
    return {k: (None if 0 < v < SMALL_CELL else v) for k, v in counts.items()}


def _suppress(rows: list[dict], key: str) -> None:
    small = [r for r in rows if 0 < r[key] < SMALL_CELL]
    if len(small) == 1:
        others = sorted((r for r in rows if r not in small and r[key] > 0), key=lambda r: r[key])
        small += others[:1]
    for row in small:
        row[key] = None


def municipality(session: Session, actor: Actor, period: Period) -> dict:
    """A municipality's consultations and new clients per 地区 and 小地域 of the person's home.

    A client whose address no area key matched is counted under 未判定, never guessed.
    """
    rows = session.execute(
        select(Client.area_id, func.count(Consultation.id),
               func.count(func.distinct(Consultation.client_id)))
        .join(Client, Client.id == Consultation.client_id, isouter=True)
        .where(_consultations(period)).group_by(Client.area_id)).all()
    areas = {a.id: a for a in session.scalars(select(Area))}
    by_district: dict[str, dict] = {}
    by_small_area: dict[str, dict] = {}

    def add(table, area, consultations, people):
        key = area.code if area else UNRESOLVED
        row = table.setdefault(key, {"code": area.code if area else None,
                                     "name": area.name if area else UNRESOLVED,
                                     "consultations": 0, "people": 0})
        row["consultations"] += consultations
        row["people"] += people

    for area_id, consultations, people in rows:
        area = areas.get(area_id)
        small = area if area and area.level == AreaLevel.SMALL_AREA else None
        district = areas.get(small.parent_id) if small else (
            area if area and area.level == AreaLevel.DISTRICT else None)
        add(by_district, district, consultations, people)
        if small is not None or district is None:
            add(by_small_area, small, consultations, people)
    audit.record(session, actor, "read", "report", "areas",
                 detail={"from": period.first, "to": period.last})
    session.commit()
    order = lambda table: sorted(table.values(), key=lambda r: (r["code"] is None, r["code"] or ""))  # noqa: E731
    return {"from": period.first, "to": period.last, "by_district": order(by_district),
            "by_small_area": order(by_small_area)}
