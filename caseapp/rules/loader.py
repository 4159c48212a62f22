"""Reading rule files (YAML or JSON) and the shipped Nankoku rule set."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from caseapp.rules.model import Problem, RuleSetInvalid

NANKOKU_PARTNERS = (
    "jiritsu", "fukushi_jimusho", "houkatsu", "hellowork", "saposute", "houterasu",
    "shihoshoshi", "bengoshi", "shonen_support", "kensatsu", "minsei", "keicho", "attaka",
    "shakyo_loan", "kenritsu_daigaku", "hokenjo",
)


class _RuleFileLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keeps dates as text.

    A duplicated ``when:`` would otherwise silently replace the first, and a date object
    could not be stored as JSON.
    """


_RuleFileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _RuleFileLoader, node: yaml.MappingNode) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key; construct_mapping reports it properly
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"duplicate key {key!r}",
                key_node.start_mark)
    return loader.construct_mapping(node, deep=True)


_RuleFileLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                _construct_mapping)


def load_ruleset_text(text: str) -> dict[str, Any]:
    """Parse a rule file given as JSON or YAML text; RuleSetInvalid on a parse error."""
    data = _parse_json(text) if text.lstrip().startswith("{") else None
    if data is None:
        data = _parse_yaml(text)
    if not isinstance(data, dict):
        raise _file_problem("the file must hold a mapping with version, tables and rules")
    return data


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None  # YAML flow style also starts with "{"; let YAML have a go and report


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_RuleFileLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise _file_problem(f"cannot read YAML/JSON: {error.problem}{where}") from error
    except yaml.YAMLError as error:
        raise _file_problem(f"cannot read YAML/JSON: {' '.join(str(error).split())}") from error


def _file_problem(message: str) -> RuleSetInvalid:
    return RuleSetInvalid([Problem(rule=None, field="(file)", message=message)])


@lru_cache(maxsize=1)
def _nankoku_text() -> str:
    return resources.files(__package__).joinpath("nankoku.yaml").read_text(encoding="utf-8")


def nankoku_ruleset_data() -> dict[str, Any]:
    """The shipped Nankoku rule set as data; a fresh copy on every call."""
    return load_ruleset_text(_nankoku_text())
