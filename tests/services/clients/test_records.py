"""Pure parts of client search and 名寄せ: how a query is read, and how two records compare."""

from datetime import date

import pytest

from caseapp.jp.names import search_key
from caseapp.models import Client
from caseapp.services.clients.records import (
    DUPLICATE_THRESHOLD,
    index_grams,
    match,
    parse_query,
    probe_grams,
)
from caseapp.services.core.errors import Invalid


@pytest.mark.parametrize(("q", "digits"), [
    ("090-1234-5678", "09012345678"),
    ("０９０（１２３４）５６７８", "09012345678"),
    ("+81 90 1234 5678", "09012345678"),
    ("+81 88-823", "088823"),  # a part, with the country code turned into the trunk 0
    ("5678", "5678"),
    ("123", "123"),
])
def test_numbers_are_read_as_phone_searches(q, digits):
    assert parse_query(q).digits == digits
    assert parse_query(q).tokens == ()
    # A whole number (10 or 11 digits from 0) is looked up by equality, a part by substring.
    assert parse_query(q).whole_number == (len(digits) >= 10)


@pytest.mark.parametrize(("q", "tokens"), [
    ("やまだ　たろう", ("ヤマダ", "タロウ")),
    ("ﾔﾏﾀﾞﾀﾛｳ", ("ヤマダタロウ",)),
    ("髙橋 はなこ", ("高橋", "ハナコ")),
    ("12", ("12",)),  # too short to be a phone number
    ("山田1", ("山田1",)),
])
def test_words_are_read_as_name_searches(q, tokens):
    assert parse_query(q).tokens == tokens
    assert parse_query(q).digits is None


def test_a_query_of_only_spaces_or_separators_is_refused():
    for q in ("", "   ", "　", "・"):
        with pytest.raises(Invalid) as info:
            parse_query(q)
        assert "q" in info.value.errors


def test_index_holds_every_character_and_pair_once():
    assert index_grams("ヤマダ", None, "ヤマ") == ["ヤ", "マ", "ダ", "ヤマ", "マダ"]
    assert index_grams(None, "") == []


@pytest.mark.parametrize("token", ["林", "山田", "ヤマダ", "ヤマダタロウ", "ジャン=ポールサルトル"])
def test_probed_pieces_are_indexed_pieces_that_cover_the_word(token):
    token = search_key(token)
    probes = probe_grams(token)
    assert set(probes) <= set(index_grams(token))  # the word's own record is always found
    assert len(probes) <= 4
    covered = {i + k for i in range(len(token) - 1) if token[i:i + 2] in probes
               for k in (0, 1)} if len(token) > 1 else {0}
    assert covered >= {0, len(token) - 1}


def person(**kw) -> Client:
    client = Client(**kw)
    client.search_key = search_key(kw.get("name", ""))
    client.kana_key = search_key(kw["name_kana"]) if kw.get("name_kana") else None
    return client


@pytest.mark.parametrize(("a", "b"), [
    (date(1952, 4, 1), date(1952, 4, 11)),  # one digit slipped in the day
    (date(1952, 4, 1), date(1962, 4, 1)),  # wrong year (e.g. 昭和27 vs 昭和37)
    (date(1952, 4, 1), date(1952, 1, 4)),  # month and day swapped
])
def test_a_plausible_birth_date_typo_still_counts_for_a_match(a, b):
    reasons, score = match(person(name="山田 太郎", birth_date=a),
                           person(name="山田太郎", birth_date=b))
    assert reasons == ["same_name", "similar_birth_date"]
    assert score >= DUPLICATE_THRESHOLD


def test_a_clearly_different_birth_date_counts_against_a_match():
    a = person(name="山田 太郎", name_kana="ヤマダ タロウ", birth_date=date(1952, 4, 1))
    b = person(name="山田 太郎", name_kana="やまだ たろう", birth_date=date(1988, 9, 30))
    reasons, score = match(a, b)
    assert reasons == ["same_name", "same_reading"]
    assert score < DUPLICATE_THRESHOLD


def test_nothing_in_common_scores_nothing():
    assert match(person(name="山田 太郎"), person(name="佐藤 花子")) == ([], 0)
