"""Reading rule files (YAML or JSON) and the shipped Nankoku rule set."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from caseapp.rules.messages import ja
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


class _DuplicateKey(yaml.constructor.ConstructorError):
    def __init__(self, key: object, node: yaml.MappingNode, key_node: yaml.Node):
        super().__init__("while reading a mapping", node.start_mark, f"duplicate key {key!r}",
                         key_node.start_mark)
        self.key = key


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
            raise _DuplicateKey(key, node, key_node)
    return loader.construct_mapping(node, deep=True)


_RuleFileLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                _construct_mapping)


def load_ruleset_text(text: str) -> dict[str, Any]:
    """Parse a rule file given as JSON or YAML text; RuleSetInvalid on a parse error."""
    data = _parse_json(text) if text.lstrip().startswith("{") else None
    if data is None:
        data = _parse_yaml(text)
    if not isinstance(data, dict):
        raise _file_problem(ja("ファイルの中身は version・tables・rules を持つマッピングにして"
                               "ください",
                               "the file must hold a mapping with version, tables and rules"))
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
        japanese = "ファイルを YAML/JSON として読めません"
        if mark:
            japanese += f"。{mark.line + 1} 行目の {mark.column + 1} 文字目を確かめてください"
        if isinstance(error, _DuplicateKey):
            japanese = f"同じマッピングにキー {error.key!r} が二度書かれています。{japanese}"
        raise _file_problem(ja(japanese, f"cannot read YAML/JSON: {error.problem}{where}")) \
            from error
    except yaml.YAMLError as error:
        raise _file_problem(ja("ファイルを YAML/JSON として読めません",
                               f"cannot read YAML/JSON: {' '.join(str(error).split())}")) from error


def _file_problem(message: str) -> RuleSetInvalid:
    return RuleSetInvalid([Problem(rule=None, field="(file)", message=message)])


@lru_cache(maxsize=1)
def _nankoku_text() -> str:
    return resources.files(__package__).joinpath("nankoku.yaml").read_text(encoding="utf-8")


def nankoku_ruleset_data() -> dict[str, Any]:
    """The shipped Nankoku rule set as data; a fresh copy on every call."""
    return load_ruleset_text(_nankoku_text())
