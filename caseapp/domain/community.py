"""The community layer's vocabulary and the few rules it lives by, pure.

Areas form a tree (県 → ブロック → 市町村 → 地区 → 小地域); community members (民生委員 and
the others who sit at a 小地域ネットワーク会議) are not staff: each serves one 小地域 for a
term and sees only that area's watch list, with the fewest fields that serve.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum


class AreaLevel(StrEnum):
    PREFECTURE = "prefecture"  # 県域
    BLOCK = "block"  # ブロック（福祉保健所の圏域）
    MUNICIPALITY = "municipality"  # 市町村
    DISTRICT = "district"  # 地区
    SMALL_AREA = "small_area"  # 小地域


LEVEL_ORDER = tuple(AreaLevel)
LEVEL_LABELS = {AreaLevel.PREFECTURE: "県域", AreaLevel.BLOCK: "ブロック",
                AreaLevel.MUNICIPALITY: "市町村", AreaLevel.DISTRICT: "地区",
                AreaLevel.SMALL_AREA: "小地域"}


def parent_level(level: str) -> AreaLevel | None:
    index = LEVEL_ORDER.index(AreaLevel(level))
    return LEVEL_ORDER[index - 1] if index else None


class MemberRole(StrEnum):
    MINSEI = "minsei"  # 民生委員・児童委員
    FUKUSHI = "fukushi"  # 福祉委員
    VOLUNTEER = "volunteer"  # 愛の一声ボランティア など
    JICHIKAI = "jichikai"  # 自治会長
    SHOBODAN = "shobodan"  # 消防団
    OTHER = "other"


MEMBER_ROLE_LABELS = {MemberRole.MINSEI: "民生委員・児童委員", MemberRole.FUKUSHI: "福祉委員",
                      MemberRole.VOLUNTEER: "ボランティア", MemberRole.JICHIKAI: "自治会長",
                      MemberRole.SHOBODAN: "消防団", MemberRole.OTHER: "その他"}


class WatchBasis(StrEnum):
    """Why a person's name may be on a list read by neighbours."""

    CONSENT = "consent"  # the person agreed, to the roles named in the scope
    # 避難行動要支援者名簿: provided in ordinary times under 災害対策基本法 §49-11(2) and the
    # municipality's ordinance or the person's agreement, to the 避難支援等関係者 in scope.
    EVACUATION_REGISTER = "evacuation_register"


BASIS_LABELS = {WatchBasis.CONSENT: "本人の同意",
                WatchBasis.EVACUATION_REGISTER:
                    "避難行動要支援者名簿の平常時提供（災害対策基本法第49条の11）"}


class VisitStatus(StrEnum):
    NO_CHANGE = "no_change"
    NEEDS_ATTENTION = "needs_attention"
    HOSPITALISED = "hospitalised"
    MOVED = "moved"
    DECEASED = "deceased"
    UNREACHABLE = "unreachable"


VISIT_LABELS = {VisitStatus.NO_CHANGE: "変わりなし", VisitStatus.NEEDS_ATTENTION: "気になる",
                VisitStatus.HOSPITALISED: "入院中", VisitStatus.MOVED: "転居",
                VisitStatus.DECEASED: "死亡", VisitStatus.UNREACHABLE: "会えない"}
# What the coordinator must act on at once.
ATTENTION = frozenset({VisitStatus.NEEDS_ATTENTION, VisitStatus.UNREACHABLE})
# After these there is nobody left to watch at that address.
ENDS_WATCH = frozenset({VisitStatus.MOVED, VisitStatus.DECEASED})


class MeetingKind(StrEnum):
    SMALL_AREA_CARE = "small_area_care"  # 小地域ケア会議（中土佐町）
    NETWORK_WATCH = "network_watch"  # 見守り支援ネットワーク会議（日高村）
    NETWORK_ACTIVITY = "network_activity"  # 地域福祉活動ネットワーク会議（日高村）


MEETING_LABELS = {MeetingKind.SMALL_AREA_CARE: "小地域ケア会議",
                  MeetingKind.NETWORK_WATCH: "見守り支援ネットワーク会議",
                  MeetingKind.NETWORK_ACTIVITY: "地域福祉活動ネットワーク会議"}


class Evaluation(StrEnum):
    ACHIEVED = "achieved"
    PARTLY = "partly"
    NOT_STARTED = "not_started"
    REVISED = "revised"


EVALUATION_LABELS = {Evaluation.ACHIEVED: "達成", Evaluation.PARTLY: "一部達成",
                     Evaluation.NOT_STARTED: "未着手", Evaluation.REVISED: "見直し"}
# Accepted on input as well as the codes, as they are written on the sheet.
EVALUATION_BY_LABEL = {label: code for code, label in EVALUATION_LABELS.items()}


class TaskKind(StrEnum):
    """Next actions in the coordinator's queue."""

    WATCH_UNVISITED = "watch_unvisited"
    WATCH_ATTENTION = "watch_attention"
    MEETING_OVERDUE = "meeting_overdue"


TASK_LABELS = {TaskKind.WATCH_UNVISITED: "訪問の期限切れ",
               TaskKind.WATCH_ATTENTION: "訪問で気になることあり",
               TaskKind.MEETING_OVERDUE: "小地域の会議の開催期限切れ"}


class TaskStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its business-day due time
    OPEN = "open"  # in the queue, the coordinator alerted
    DONE = "done"
    WITHDRAWN = "withdrawn"


def in_term(term_from: date, term_to: date | None, today: date) -> bool:
    return term_from <= today and (term_to is None or today <= term_to)


def meeting_due_on(last_held: date | None, since: date, per_year: int) -> date:
    """The day by which the next meeting is owed: a year's share after the last one."""
    return (last_held or since) + timedelta(days=365 // per_year)


def visible_to_roles(scope: Iterable[str], roles: Iterable[str]) -> bool:
    """Every role present is one the basis lets see the person (staff are not counted)."""
    allowed = set(scope)
    return all(role in allowed for role in roles)


__all__ = [
    "ATTENTION", "BASIS_LABELS", "ENDS_WATCH", "EVALUATION_BY_LABEL", "EVALUATION_LABELS",
    "LEVEL_LABELS", "LEVEL_ORDER", "MEETING_LABELS", "MEMBER_ROLE_LABELS", "TASK_LABELS",
    "VISIT_LABELS", "AreaLevel", "Evaluation", "MeetingKind", "MemberRole", "TaskKind",
    "TaskStatus", "VisitStatus", "WatchBasis", "in_term", "meeting_due_on", "parent_level",
    "visible_to_roles",
]


# Where a person was seen: the counter, an あったかふれあいセンター, an outreach visit, an event.
SITES = ("counter", "center", "outreach", "event")
