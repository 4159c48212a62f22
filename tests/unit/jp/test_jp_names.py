import doctest
import random
import unicodedata

import pytest

import caseapp.jp.names as names_module
from caseapp.jp.names import bigrams, normalise_reading, search_key
from caseapp.jp.variants import VARIANT_PAIRS

# ---------------------------------------------------------------------------
# search_key: the same person however staff type it
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "ヤマダ",
        "やまだ",
        "ﾔﾏﾀﾞ",  # half-width katakana with a separate voiced mark
        "ヤマダ",  # full-width katakana built from half-width via NFKC
        " ヤ マ ダ ",
        "やマだ",  # mixed hiragana/katakana
    ],
)
def test_reading_variants_share_one_key(typed):
    assert search_key(typed) == "ヤマダ"


@pytest.mark.parametrize(
    "typed",
    [
        "やまだ　たろう",  # U+3000 ideographic space
        "やまだ たろう",
        "ヤマダ　タロウ",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "ﾔﾏﾀﾞﾀﾛｳ",
        "やまだ\tたろう\n",
        "ヤマダ\u00a0タロウ",  # no-break space pasted from a web page
    ],
)
def test_full_reading_variants_share_one_key(typed):
    assert search_key(typed) == "ヤマダタロウ"


def test_nfkc_folds_half_width_voiced_and_semi_voiced_kana():
    # The brief asked to check this: NFKC alone composes ｶﾞ→ガ and ﾊﾟ→パ.
    assert search_key("ｶﾞｷﾞｸﾞｹﾞｺﾞ") == "ガギグゲゴ"
    assert search_key("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ") == "パピプペポ"
    assert search_key("ｳﾞｧｲｵﾘﾝ") == "ヴァイオリン"
    assert len(search_key("ｶﾞ")) == 1  # one precomposed code point, not カ+゛


@pytest.mark.parametrize(
    ("variant", "standard"),
    [
        ("髙橋", "高橋"),
        ("山\ufa11", "山崎"),  # 山﨑 (tatsu-saki, U+FA11)
        ("宮嵜", "宮崎"),
        ("渡邊", "渡辺"),
        ("渡邉", "渡辺"),
        ("齋藤", "斎藤"),
        ("齊藤", "斎藤"),
        ("斉藤", "斎藤"),
        ("濱田", "浜田"),
        ("大澤", "大沢"),
        ("櫻井", "桜井"),
        ("廣瀬", "広瀬"),
        ("國分", "国分"),
        ("眞鍋", "真鍋"),
        ("德永", "徳永"),
        ("惠子", "恵子"),
        ("冨田", "富田"),
        ("槇原", "槙原"),
        ("曾我", "曽我"),
        ("瀨戸", "瀬戸"),
        ("中嶋", "中島"),
        ("埜口", "野口"),
        ("\U00020bb7田", "吉田"),  # 𠮷田 (tsuchi-yoshi, outside the BMP)
        ("髙﨑", "高崎"),
    ],
)
def test_variant_kanji_fold_to_common_form(variant, standard):
    assert search_key(variant) == search_key(standard) == standard


def test_fujiwara_is_left_alone():
    assert search_key("藤原") == "藤原"
    assert search_key("佐藤　花子") == "佐藤花子"


def test_compatibility_ideographs_are_folded_by_nfkc():
    assert search_key("\ufa10本") == "塚本"  # U+FA10 塚 → U+585A 塚
    assert search_key("\ufa19田") == "神田"  # U+FA19 神 → U+795E 神


def test_ideographic_variation_selectors_are_dropped():
    assert search_key("葛\U000e0100城") == "葛城"  # IVS picks a glyph, not a character
    assert search_key("辻\U000e0101") == "辻"


@pytest.mark.parametrize(
    "typed",
    [
        "ローソン",
        "ロ－ソン",  # U+FF0D full-width hyphen-minus (very common IME slip)
        "ロ-ソン",
        "ロ‐ソン",  # U+2010
        "ロ−ソン",  # U+2212 minus sign
        "ロ—ソン",  # U+2014
        "ロ―ソン",  # U+2015
        "ロ–ソン",  # U+2013
        "ロ～ソン",  # U+FF5E
        "ロ〜ソン",  # U+301C
        "ﾛｰｿﾝ",  # half-width ｰ
        "ろーそん",
        "ろ－そん",
    ],
)
def test_long_vowel_forms_are_unified(typed):
    assert search_key(typed) == "ローソン"


def test_trailing_long_vowel_after_kana_is_unified():
    assert search_key("メアリ－") == search_key("メアリー") == "メアリー"
    assert search_key("コーヒ--") == "コーヒーー"  # one ー per dash, no guessing


def test_dashes_not_after_kana_are_kept():
    assert search_key("A-1") == "a-1"
    assert search_key("－ヤマダ") == "-ヤマダ"
    assert search_key("山田-太郎") == "山田-太郎"


def test_small_kana_and_vu_are_kept():
    assert search_key("キッカワ") != search_key("キツカワ")
    assert search_key("しょうこ") == "ショウコ"
    assert search_key("ヶ") == "ヶ"
    assert search_key("ゔぃ") == "ヴィ"


def test_latin_is_lowercased_and_width_folded():
    assert search_key("John SMITH") == "johnsmith"
    assert search_key("ＳＭＩＴＨ　Ｊｏｈｎ") == "smithjohn"
    assert search_key("Nguyễn Văn An") == "nguyễnvănan"


def test_foreign_name_separators_are_ignored():
    expected = "ジョンスミス"
    for typed in ("ジョン・スミス", "ジョン スミス", "ｼﾞｮﾝ･ｽﾐｽ", "ジョン＝スミス", "ジョン·スミス"):
        assert search_key(typed) == expected


def test_kanji_name_with_spaces():
    assert search_key("山田　太郎") == search_key("山田太郎") == "山田太郎"
    assert search_key(" 髙橋 一郎 ") == "高橋一郎"


def test_digits_are_half_width():
    assert search_key("第２") == "第2"


def test_empty_and_blank():
    assert search_key("") == ""
    assert search_key("　 \t") == ""


def test_spacing_dakuten_typed_after_kana_is_composed():
    assert search_key("カ゛") == "ガ"  # U+309B
    assert search_key("ハ゜") == "パ"  # U+309C
    assert search_key("カ ゛") == "ガ"  # detached by a space
    assert search_key("ｳ゛ｧｲｵﾘﾝ") == "ヴァイオリン"


def test_long_vowel_after_recomposed_kana_is_stable():
    # Found by the fuzz test: the dash follows a mark that only composes after the
    # separators are removed; it must still be treated as following kana.
    key = search_key("アｳ ゛~")
    assert key == "アヴー"
    assert search_key(key) == key


_FUZZ_POOL = (
    "あいうえおかがきぎぱぴゃゅょっゔゝゞ"
    "アイウエオカガキギパピャュョッヴヵヶヽヾ"
    "ｱｲｳｶｷﾊﾟﾋﾞｬｭｮｯｰﾞﾟ･"
    "ー－-‐−–—―～〜~ｰ"
    " \u3000\t\u00a0・·゠＝="
    "山田高橋崎辺斎浜沢桜広国真徳恵富槙曽瀬島野藤"
    "髙\ufa11嵜邊邉齋齊斉濱澤櫻廣國眞德惠冨槇曾瀨嶋埜\U00020bb7"
    "\ufa10\ufa19\U000e0100\ufe00\u3099\u309a\u309b\u309c"
    "AbCzＡｂＣ0９İẞKﬁ㍿㈱①"
)


def test_search_key_is_idempotent_on_realistic_and_random_input():
    samples = [
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "やまだ　たろう",
        "髙橋",
        "山\ufa11",
        "ロ－ソン",
        "カ ゛",
        "ｼﾞｮﾝ･ｽﾐｽ",
        "İstanbul",
        "㈱ヤマダ",
    ]
    rng = random.Random(20260401)
    samples += [
        "".join(rng.choice(_FUZZ_POOL) for _ in range(rng.randint(1, 12))) for _ in range(20000)
    ]
    for s in samples:
        key = search_key(s)
        assert search_key(key) == key, (s, key)
        assert unicodedata.is_normalized("NFC", key)
        assert not any(c.isspace() for c in key)


def test_every_variant_pair_folds_through_search_key():
    for variant, standard in VARIANT_PAIRS:
        assert search_key(variant) == standard, variant


# ---------------------------------------------------------------------------
# normalise_reading: what we store in the フリガナ column
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("やまだ たろう", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("やまだ　たろう", "ヤマダ タロウ"),  # U+3000 → ASCII space
        ("  ヤマダ 　 タロウ  ", "ヤマダ タロウ"),  # collapse + strip
        ("ヤマダ\tタロウ", "ヤマダ タロウ"),
        ("ヤマダ", "ヤマダ"),
        ("さとう はなこ", "サトウ ハナコ"),
        ("きっかわ しょうこ", "キッカワ ショウコ"),  # small kana kept
        ("ジョン・スミス", "ジョン・スミス"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス"),  # half-width ･ → ・
        ("ジョン·スミス", "ジョン・スミス"),  # U+00B7 middle dot → ・
        ("ろ－そん", "ローソン"),
        ("メアリ－ ブラウン", "メアリー ブラウン"),
        ("ゔぃくとりあ", "ヴィクトリア"),
        ("ｸﾞｴﾝ ｳﾞｧﾝ ｱﾝ", "グエン ヴァン アン"),
        ("カ゛ッコウ", "ガッコウ"),  # spacing ゛ typed after the kana
    ],
)
def test_normalise_reading(typed, stored):
    assert normalise_reading(typed) == stored


def test_normalise_reading_is_idempotent():
    for typed in ("ﾔﾏﾀﾞ ﾀﾛｳ", "やまだ　たろう", "ジョン・スミス", "ろ－そん"):
        once = normalise_reading(typed)
        assert normalise_reading(once) == once


@pytest.mark.parametrize(
    "typed",
    ["山田", "やまだ 太郎", "yamada", "ヤマダ1", "ヤマダ(タロウ)", "－ヤマダ", "ヤマダ、タロウ"],
)
def test_normalise_reading_rejects_non_kana(typed):
    with pytest.raises(ValueError) as exc:
        normalise_reading(typed)
    message = str(exc.value)
    assert "カタカナ" in message  # Japanese for staff
    assert "katakana" in message  # English for developers / logs


def test_normalise_reading_error_names_the_bad_characters():
    with pytest.raises(ValueError, match="山田"):
        normalise_reading("山田")


@pytest.mark.parametrize("typed", ["", "   ", "\u3000"])
def test_normalise_reading_rejects_empty(typed):
    with pytest.raises(ValueError, match="empty"):
        normalise_reading(typed)


def test_search_key_of_stored_reading_matches_typed_query():
    stored = normalise_reading("ﾔﾏﾀﾞ ﾀﾛｳ")
    assert search_key(stored) == search_key("やまだたろう")


# ---------------------------------------------------------------------------
# bigrams
# ---------------------------------------------------------------------------


def test_bigrams_of_kanji_name():
    assert bigrams("山田太郎") == ["山田", "田太", "太郎"]


def test_bigrams_of_two_and_one_characters():
    assert bigrams("山田") == ["山田"]
    assert bigrams("林") == ["林"]
    assert bigrams("") == []


def test_bigrams_are_distinct_in_first_seen_order():
    assert bigrams("ヤマダヤマ") == ["ヤマ", "マダ", "ダヤ"]
    assert bigrams("ヤヤヤヤ") == ["ヤヤ"]


def test_bigrams_handle_non_bmp_characters_as_one_character():
    assert bigrams("\U00020bb7田") == ["\U00020bb7田"]


def test_query_bigrams_are_a_subset_of_the_indexed_name():
    indexed = set(bigrams(search_key("髙橋　一郎")))
    for query in ("高橋", "橋一", "高橋一郎", "一郎"):
        assert set(bigrams(search_key(query))) <= indexed
    assert not set(bigrams(search_key("山田"))) <= indexed


def test_doctests():
    assert doctest.testmod(names_module).failed == 0
