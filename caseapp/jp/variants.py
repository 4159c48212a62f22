"""Variant-kanji (異体字) folding table for name search keys.

Staff often cannot type the exact glyph in a client's registered name (髙橋, 山﨑,
渡邊 …), so search keys fold the variant to the everyday form. This table is **data
only**: one ``(variant, standard)`` pair per entry. It is consumed by
:func:`caseapp.jp.names.search_key` via :data:`VARIANT_TRANSLATION`.

Rules for editing (enforced by ``tests/unit/jp/test_jp_variants.py``):

* both sides are a single code point and already NFKC-stable (search_key applies
  NFKC *before* this table; CJK compatibility ideographs that NFKC already maps,
  e.g. U+FA10 塚 → 塚, do not need an entry);
* no chains: a ``standard`` must never itself appear as a ``variant``;
* each variant appears once.

The fold is for *finding* records only. Never use it to rewrite the stored name:
the registered glyph (e.g. 髙) is what must be printed on official documents.

Code points that editors or input methods tend to normalise away are written as
escapes (U+FA11 﨑, U+FA14 﨔, U+20BB7 𠮷, U+2123D 𡈽).
"""

from __future__ import annotations

VARIANT_PAIRS: tuple[tuple[str, str], ...] = (
    # --- very common in surnames -------------------------------------------------
    ("髙", "高"),  # 髙橋 → 高橋 (hashigo-daka)
    ("\ufa11", "崎"),  # 﨑 (tatsu-saki, CJK compatibility ideograph) 山﨑 → 山崎
    ("嵜", "崎"),  # 宮嵜 → 宮崎
    ("碕", "崎"),  # 川碕 → 川崎
    ("邊", "辺"),  # 渡邊 → 渡辺
    ("邉", "辺"),  # 渡邉 → 渡辺
    ("齋", "斎"),  # 齋藤 → 斎藤
    ("齊", "斎"),  # 齊藤 → 斎藤 (strictly the old form of 斉; all read さいとう)
    ("斉", "斎"),  # 斉藤 → 斎藤: one search class for the whole Saitō family
    ("濱", "浜"),  # 濱田 → 浜田
    ("濵", "浜"),  # 濵口 → 浜口
    ("澤", "沢"),  # 大澤 → 大沢
    ("櫻", "桜"),  # 櫻井 → 桜井
    ("廣", "広"),  # 廣瀬 → 広瀬
    ("國", "国"),  # 國分 → 国分
    ("眞", "真"),  # 眞鍋 → 真鍋
    ("德", "徳"),  # 德永 → 徳永
    ("惠", "恵"),  # 惠子 → 恵子
    ("冨", "富"),  # 冨田 → 富田
    ("槇", "槙"),  # 槇原 → 槙原
    ("曾", "曽"),  # 曾我 → 曽我
    ("瀨", "瀬"),  # 瀨戸 → 瀬戸
    ("嶋", "島"),  # 中嶋 → 中島
    ("嶌", "島"),  # 中嶌 → 中島
    ("埜", "野"),  # 埜口 → 野口
    ("邨", "村"),  # 中邨 → 中村
    ("龍", "竜"),  # 龍馬 → 竜馬
    ("瀧", "滝"),  # 瀧本 → 滝本
    ("\U00020bb7", "吉"),  # 𠮷 (tsuchi-yoshi) 𠮷田 → 吉田
    ("\U0002123d", "土"),  # 𡈽 (土 with a dot)
    ("桒", "桑"),  # 桒原 → 桑原
    ("栁", "柳"),  # 栁田 → 柳田
    ("舘", "館"),  # 舘野 → 館野
    ("渕", "淵"),  # 渕上 → 淵上
    ("峯", "峰"),  # 峯岸 → 峰岸
    ("嶽", "岳"),  # 嶽本 → 岳本
    ("藪", "薮"),  # 藪内 → 薮内
    ("檜", "桧"),  # 檜山 → 桧山
    ("\ufa14", "欅"),  # 﨔 (CJK compatibility ideograph) → 欅
    # --- old forms (旧字体) common in given names and older registrations --------
    ("實", "実"),
    ("榮", "栄"),
    ("淺", "浅"),
    ("藏", "蔵"),
    ("壽", "寿"),
    ("彌", "弥"),
    ("條", "条"),
    ("萬", "万"),
    ("與", "与"),
    ("團", "団"),
    ("學", "学"),
    ("圓", "円"),
    ("關", "関"),
    ("兒", "児"),
    ("靜", "静"),
    ("黑", "黒"),
    ("澁", "渋"),
    ("鷗", "鴎"),
    ("寶", "宝"),
    ("亞", "亜"),
    ("戶", "戸"),
    ("內", "内"),
    ("淸", "清"),
    ("靑", "青"),
    ("綠", "緑"),
    ("增", "増"),
    ("顯", "顕"),
    ("會", "会"),
    ("佛", "仏"),
    ("禮", "礼"),
    ("傳", "伝"),
    ("氣", "気"),
    ("縣", "県"),
    ("聰", "聡"),
    ("晉", "晋"),
    ("將", "将"),
    ("鄕", "郷"),
    ("穗", "穂"),
    ("莊", "荘"),
    ("巖", "巌"),
    ("來", "来"),
    ("豐", "豊"),
    ("寬", "寛"),
    ("昻", "昂"),
    ("驒", "騨"),
)

#: ``str.translate`` table built from :data:`VARIANT_PAIRS`.
VARIANT_TRANSLATION: dict[int, str] = {ord(v): s for v, s in VARIANT_PAIRS}
