import unicodedata

from caseapp.jp.variants import VARIANT_PAIRS, VARIANT_TRANSLATION


def test_table_has_at_least_thirty_pairs():
    assert len(VARIANT_PAIRS) >= 30


def test_each_side_is_a_single_nfkc_stable_character():
    for variant, standard in VARIANT_PAIRS:
        assert len(variant) == 1 and len(standard) == 1, (variant, standard)
        # search_key applies NFKC before the table; an unstable source would never match.
        assert unicodedata.normalize("NFKC", variant) == variant, hex(ord(variant))
        assert unicodedata.normalize("NFKC", standard) == standard, hex(ord(standard))
        assert variant != standard


def test_variants_are_unique_and_there_are_no_chains():
    variants = [v for v, _ in VARIANT_PAIRS]
    standards = {s for _, s in VARIANT_PAIRS}
    assert len(variants) == len(set(variants))
    assert not standards & set(variants)


def test_translation_table_matches_pairs():
    assert len(VARIANT_TRANSLATION) == len(VARIANT_PAIRS)
    assert "髙﨑".translate(VARIANT_TRANSLATION) == "高崎"


def test_pairs_requested_in_the_brief_are_present():
    required = {
        "髙": "高",
        "\ufa11": "崎",
        "嵜": "崎",
        "邊": "辺",
        "邉": "辺",
        "齋": "斎",
        "齊": "斎",
        "濱": "浜",
        "澤": "沢",
        "櫻": "桜",
        "廣": "広",
        "國": "国",
        "眞": "真",
        "德": "徳",
        "惠": "恵",
        "冨": "富",
        "槇": "槙",
        "曾": "曽",
        "瀨": "瀬",
        "嶋": "島",
        "埜": "野",
    }
    table = dict(VARIANT_PAIRS)
    for variant, standard in required.items():
        assert table.get(variant) == standard, variant
    assert "藤" not in table
