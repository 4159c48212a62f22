"""Can staff find a returning resident however they type the name or the phone number?"""

import pytest
from sqlalchemy import select

from caseapp.models import AuditEntry, ClientBigram
from tests.helpers import assert_problem


def make(api, **body):
    response = api.post("/api/v1/clients", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def found(api, q, **params):
    response = api.get("/api/v1/clients", query_string={"q": q, **params})
    assert response.status_code == 200, response.json
    return response.json


def ids(api, q, **params):
    return [c["id"] for c in found(api, q, **params)["items"]]


@pytest.fixture
def people(api):
    return {
        "takahashi": make(api, name="髙橋 花子", name_kana="タカハシ ハナコ",
                          phone="090-1234-5678"),
        "yamazaki": make(api, name="山﨑 太郎", name_kana="やまざき たろう",
                         phone="088-823-1234"),
        "watanabe": make(api, name="渡邊 恵子", name_kana="ﾜﾀﾅﾍﾞ ｹｲｺ"),
        "mary": make(api, name="メアリー スミス", name_kana="メアリー スミス"),
        "saito": make(api, name="齋藤 實", name_kana="サイトウ ミノル"),
    }


@pytest.mark.parametrize(("who", "q"), [
    ("takahashi", "高橋"),  # 旧字体 stored, everyday form typed
    ("takahashi", "髙橋"),
    ("takahashi", "たかはし"),
    ("takahashi", "ﾀｶﾊｼ"),
    ("takahashi", "タカハシ　ハナコ"),  # ideographic space
    ("takahashi", "高橋花子"),
    ("takahashi", "高橋 はなこ"),  # kanji surname, kana given name
    ("takahashi", "はなこ"),
    ("yamazaki", "山崎"),
    ("yamazaki", "山嵜"),  # another variant of 崎
    ("yamazaki", "ヤマザキ"),
    ("yamazaki", "ﾔﾏｻﾞｷ ﾀﾛｳ"),  # half-width with voiced mark
    ("watanabe", "渡辺"),
    ("watanabe", "渡邉"),
    ("watanabe", "わたなべ けいこ"),
    ("watanabe", "恵子"),
    ("mary", "めありー"),
    ("mary", "ﾒｱﾘｰ"),
    ("mary", "メアリ－"),  # full-width minus typed for the long vowel
    ("mary", "メアリ-スミス"),
    ("saito", "斎藤"),
    ("saito", "斉藤 実"),
    ("saito", "齊藤"),
])
def test_a_name_is_found_however_it_is_typed(api, people, who, q):
    assert ids(api, q) == [people[who]]


@pytest.mark.parametrize(("who", "q"), [
    ("takahashi", "090-1234-5678"),
    ("takahashi", "０９０－１２３４－５６７８"),
    ("takahashi", "+81 90-1234-5678"),
    ("takahashi", "09012345678"),
    ("takahashi", "1234-5678"),
    ("takahashi", "5678"),
    ("yamazaki", "088 823 1234"),
    ("yamazaki", "(088)823-1234"),
    ("yamazaki", "823-1234"),
])
def test_a_phone_number_is_found_however_it_is_typed(api, people, who, q):
    assert ids(api, q) == [people[who]]


def test_results_show_the_phone_formatted_and_the_name_as_entered(api, people):
    hit = found(api, "たかはし")["items"][0]
    assert hit["name"] == "髙橋 花子"
    assert hit["phone"] == "09012345678"
    assert hit["phone_display"] == "090-1234-5678"
    assert hit["name_kana"] == "タカハシ ハナコ"


def test_exact_matches_come_before_prefixes_before_substrings(api):
    inside = make(api, name="小山田 花子", name_kana="オヤマダ ハナコ")
    starts = make(api, name="山田 太郎", name_kana="ヤマダ タロウ")
    exact = make(api, name="山田", name_kana="ヤマダ")
    make(api, name="佐藤 一郎", name_kana="サトウ イチロウ")
    result = found(api, "やまだ")
    assert [c["id"] for c in result["items"]] == [exact, starts, inside]
    assert [c["match"] for c in result["items"]] == ["exact", "prefix", "substring"]
    assert ids(api, "山田") == [exact, starts, inside]


def test_a_single_character_finds_names_containing_it(api):
    kobayashi = make(api, name="小林 誠", name_kana="コバヤシ マコト")
    hayashi = make(api, name="林", name_kana="ハヤシ")
    make(api, name="森 葵", name_kana="モリ アオイ")
    assert ids(api, "林") == [hayashi, kobayashi]


def test_every_word_must_match(api):
    taro = make(api, name="山田 太郎", name_kana="ヤマダ タロウ")
    make(api, name="山田 花子", name_kana="ヤマダ ハナコ")
    make(api, name="田中 太郎", name_kana="タナカ タロウ")
    assert ids(api, "山田 たろう") == [taro]
    assert ids(api, "ヤマダタロウ") == [taro]
    assert ids(api, "ヤマダ タロ") == [taro]


def test_pieces_in_the_wrong_order_do_not_match(api):
    # ヤマダタロウ holds the probed pieces タロ and ヤマ of タロヤマ, but not タロヤマ itself.
    make(api, name="山田 太郎", name_kana="ヤマダ タロウ")
    assert ids(api, "タロヤマ") == []
    assert ids(api, "郎山") == []


def test_like_wildcards_are_taken_literally(api, people):
    assert ids(api, "%") == []
    assert ids(api, "_") == []


def test_results_are_paginated_with_a_total(api):
    made = [make(api, name=f"山田 {given}", name_kana=f"ヤマダ {kana}")
            for given, kana in (("一郎", "イチロウ"), ("二郎", "ジロウ"), ("三郎", "サブロウ"),
                                ("四郎", "シロウ"), ("五郎", "ゴロウ"))]
    first = found(api, "山田", per_page=2)
    second = found(api, "山田", per_page=2, page=2)
    third = found(api, "山田", per_page=2, page=3)
    beyond = found(api, "山田", per_page=2, page=4)
    assert first["total"] == second["total"] == third["total"] == beyond["total"] == 5
    seen = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert sorted(seen) == sorted(made) and len(set(seen)) == 5
    assert beyond["items"] == []
    assert found(api, "存在しない名前")["total"] == 0


def test_search_can_be_narrowed_by_birth_date_typed_as_wareki(api):
    older = make(api, name="山田 太郎", name_kana="ヤマダ タロウ", birth_date="1952-04-01")
    make(api, name="山田 太郎", name_kana="ヤマダ タロウ", birth_date="1980-01-01")
    assert ids(api, "やまだ", birth_date="昭和27年4月1日") == [older]
    assert "birth_date" in assert_problem(
        api.get("/api/v1/clients", query_string={"q": "やまだ", "birth_date": "S64.1.8"}),
        422)["errors"]


def test_an_empty_or_blank_query_is_refused(api):
    assert "q" in assert_problem(api.get("/api/v1/clients"), 422)["errors"]
    assert "q" in assert_problem(api.get("/api/v1/clients", query_string={"q": "　 "}),
                                 422)["errors"]


def test_searches_are_audited_with_their_results(api, people, session):
    found(api, "たかはし")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "search"))
    assert entry.detail["results"] == [people["takahashi"]]
    assert entry.actor_label == "counter-1"


def test_a_corrected_name_is_found_by_its_new_spelling_only(api, session):
    client = make(api, name="山田 太朗", name_kana="ヤマダ タロウ")
    response = api.patch(f"/api/v1/clients/{client}", json={"name": "山田 太郎"})
    assert response.status_code == 200, response.json
    assert ids(api, "太郎") == [client]
    assert ids(api, "太朗") == []
    # The index holds exactly the pieces of the new keys: no stale rows left behind.
    grams = set(session.scalars(select(ClientBigram.bigram)
                                .where(ClientBigram.client_id == client)))
    assert "太朗" not in grams and {"太郎", "山田", "ヤマ", "タ"} <= grams


def test_partners_cannot_search_clients(api, tokens):
    response = api.as_(tokens["partner:houkatsu"]).get("/api/v1/clients",
                                                       query_string={"q": "やまだ"})
    assert_problem(response, 403)
