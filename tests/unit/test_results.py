"""A result object reads through to the row it is about, so the row's schema renders it."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from caseapp.services.core.results import ReadsThrough


@dataclass
class Found(ReadsThrough):
    row: SimpleNamespace
    extra: list


def test_a_result_answers_for_its_row_and_its_own_fields():
    found = Found(SimpleNamespace(id=7, name="山田 太郎"), [3])
    assert (found.id, found.name, found.extra) == (7, "山田 太郎", [3])
    with pytest.raises(AttributeError):
        _ = found.missing


def test_a_result_is_not_taken_for_a_mapping():
    # marshmallow reads keys from anything with __getitem__; a result must read as an object.
    assert not hasattr(Found(SimpleNamespace(), []), "__getitem__")
