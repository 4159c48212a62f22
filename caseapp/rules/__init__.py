"""The routing-rule engine: pure Python + PyYAML, no Flask and no database.

Typical use::

    ruleset = compile_ruleset(nankoku_ruleset_data(), NANKOKU_PARTNERS)
    decisions = ruleset.evaluate(Subject(topics=("debt",), facts={...}, on=date(2026, 11, 27)))

The file format and the semantics are described in docs/rules.md.
"""

from caseapp.rules.fields import FIELDS, age_of, normalise_text
from caseapp.rules.loader import NANKOKU_PARTNERS, load_ruleset_text, nankoku_ruleset_data
from caseapp.rules.model import Danger, Decision, Problem, RuleSetInvalid, Subject
from caseapp.rules.replay import ReplayExample, ReplayReport, replay
from caseapp.rules.ruleset import CompiledRuleSet, compile_ruleset, validate_ruleset
from caseapp.rules.vocab import (
    ACTIONS,
    BENEFITS,
    CHANNELS,
    FACT_KEYS,
    HOUSING,
    LEGAL_BASES,
    METHODS,
    TOPICS,
    URGENCIES,
    validate_facts,
)

__all__ = [
    "ACTIONS",
    "BENEFITS",
    "CHANNELS",
    "FACT_KEYS",
    "FIELDS",
    "HOUSING",
    "LEGAL_BASES",
    "METHODS",
    "NANKOKU_PARTNERS",
    "TOPICS",
    "URGENCIES",
    "CompiledRuleSet",
    "Danger",
    "Decision",
    "Problem",
    "ReplayExample",
    "ReplayReport",
    "RuleSetInvalid",
    "Subject",
    "age_of",
    "compile_ruleset",
    "load_ruleset_text",
    "nankoku_ruleset_data",
    "normalise_text",
    "replay",
    "validate_facts",
    "validate_ruleset",
]
