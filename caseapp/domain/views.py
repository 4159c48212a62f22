"""Which items a view shows, as dotted paths: the same walk serves the answer and its log.

Pure. A view is the dict a partner receives (inbox answer, webhook ``data``); an item is a path
into it such as ``client.name``. The §29 disclosure log lists the items that carry a value in
what was actually sent, so the log cannot drift from the view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_MISSING = object()


def value_at(view: Mapping, path: str):
    value = view
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return _MISSING
        value = value[key]
    return value


def shown(view: Mapping, items: Iterable[str]) -> list[str]:
    """The items, in the order given, that carry a value in ``view`` (not absent, null or empty)."""
    return [path for path in items if value_at(view, path) not in (_MISSING, None, "", [], {})]


def paths(view: Mapping, prefix: str = "") -> list[str]:
    """Every item of ``view``: the dotted path of each value that is not itself a mapping."""
    out = []
    for key, value in view.items():
        path = f"{prefix}{key}"
        out.extend(paths(value, f"{path}.") if isinstance(value, Mapping) else [path])
    return out
