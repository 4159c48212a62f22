import doctest
from datetime import date, datetime, timedelta

import pytest

import caseapp.jp.wareki as wareki_module
from caseapp.jp.wareki import WarekiError, era_of, format_wareki, parse_date

# ---------------------------------------------------------------------------
# accepted input forms
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "昭和27年4月1日",
        "昭和２７年４月１日",  # full-width digits
        "昭和27年04月01日",
        "昭和27年4月1",  # trailing 日 omitted
        "昭和 27 年 4 月 1 日",
        "昭27.4.1",
        "S27.4.1",
        "s27/4/1",
        "S27-4-1",
        "Ｓ２７．４．１",  # full-width letter, digits and dots
        "㍼27年4月1日",  # U+337C square era name
        "1952-04-01",
        "1952/4/1",
        "1952.04.01",
        "１９５２－０４－０１",
        "1952年4月1日",
    ],
)
def test_same_day_in_many_spellings(typed):
    assert parse_date(typed) == date(1952, 4, 1)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和1年5月1日", date(2019, 5, 1)),
        ("R1.5.1", date(2019, 5, 1)),
        ("r元.5.1", date(2019, 5, 1)),
        ("㋿元年5月1日", date(2019, 5, 1)),
        ("令和8年4月1日", date(2026, 4, 1)),
        ("R8.4.1", date(2026, 4, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("h1.1.8", date(1989, 1, 8)),
        ("平成12年2月29日", date(2000, 2, 29)),  # leap year (div by 400)
        ("T15.12.24", date(1926, 12, 24)),
        ("大正元年7月30日", date(1912, 7, 30)),
        ("大正9年10月1日", date(1920, 10, 1)),
        ("明治45年7月29日", date(1912, 7, 29)),
        ("M44.3.3", date(1911, 3, 3)),
        ("明治6年1月1日", date(1873, 1, 1)),
        ("令和6年2月29日", date(2024, 2, 29)),
    ],
)
def test_parse_wareki(typed, expected):
    assert parse_date(typed) == expected


# ---------------------------------------------------------------------------
# era boundaries, both sides
# ---------------------------------------------------------------------------

BOUNDARIES = [
    # (last day of old era as typed, date, first day of new era as typed, date)
    ("明治45年7月29日", date(1912, 7, 29), "大正元年7月30日", date(1912, 7, 30)),
    ("大正15年12月24日", date(1926, 12, 24), "昭和元年12月25日", date(1926, 12, 25)),
    ("昭和64年1月7日", date(1989, 1, 7), "平成元年1月8日", date(1989, 1, 8)),
    ("平成31年4月30日", date(2019, 4, 30), "令和元年5月1日", date(2019, 5, 1)),
]


@pytest.mark.parametrize(("last", "last_date", "first", "first_date"), BOUNDARIES)
def test_boundary_days_parse(last, last_date, first, first_date):
    assert parse_date(last) == last_date
    assert parse_date(first) == first_date
    assert first_date - last_date == timedelta(days=1)


@pytest.mark.parametrize(("last", "last_date", "first", "first_date"), BOUNDARIES)
def test_boundary_days_format(last, last_date, first, first_date):
    assert format_wareki(last_date) == last
    assert format_wareki(first_date) == first


@pytest.mark.parametrize(
    ("typed", "fragment_ja", "fragment_en"),
    [
        ("明治45年7月30日", "明治は1912年7月29日まで", "Meiji ended on 1912-07-29"),
        ("大正元年7月29日", "大正は1912年7月30日から", "Taisho began on 1912-07-30"),
        ("大正15年12月25日", "大正は1926年12月24日まで", "Taisho ended on 1926-12-24"),
        ("昭和元年12月24日", "昭和は1926年12月25日から", "Showa began on 1926-12-25"),
        ("昭和64年1月8日", "昭和は1989年1月7日まで", "Showa ended on 1989-01-07"),
        ("平成元年1月7日", "平成は1989年1月8日から", "Heisei began on 1989-01-08"),
        ("平成31年5月1日", "平成は2019年4月30日まで", "Heisei ended on 2019-04-30"),
        ("H31.5.1", "平成は2019年4月30日まで", "Heisei ended on 2019-04-30"),
        ("令和1年4月30日", "令和は2019年5月1日から", "Reiwa began on 2019-05-01"),
        ("昭和65年1月1日", "昭和は1989年1月7日まで", "Showa ended on 1989-01-07"),
        ("平成32年1月1日", "平成は2019年4月30日まで", "Heisei ended on 2019-04-30"),
    ],
)
def test_dates_outside_their_era_are_rejected(typed, fragment_ja, fragment_en):
    with pytest.raises(WarekiError) as exc:
        parse_date(typed)
    message = str(exc.value)
    assert "存在しません" in message
    assert fragment_ja in message
    assert fragment_en in message


def test_heisei_31_may_message_matches_the_spec():
    with pytest.raises(WarekiError) as exc:
        parse_date("平成31年5月1日")
    assert str(exc.value) == (
        "平成31年5月1日は存在しません（平成は2019年4月30日まで） / Heisei ended on 2019-04-30"
    )


@pytest.mark.parametrize(
    "typed",
    [
        "昭和27年2月30日",
        "令和5年2月29日",  # 2023 is not a leap year
        "平成13年2月29日",
        "S50.13.1",
        "S50.0.10",
        "S50.4.31",
        "R3.6.0",
        "2026-02-30",
        "2026/13/01",
    ],
)
def test_impossible_days_are_rejected(typed):
    with pytest.raises(WarekiError, match="存在しない日付") as exc:
        parse_date(typed)
    assert "not a valid date" in str(exc.value)


def test_year_zero_is_rejected():
    with pytest.raises(WarekiError, match="元年"):
        parse_date("昭和0年1月1日")


def test_pre_gregorian_meiji_is_rejected():
    with pytest.raises(WarekiError, match="旧暦") as exc:
        parse_date("明治5年12月2日")
    assert "1873-01-01" in str(exc.value)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "昨日",
        "昭和27年",
        "昭和27年4月",
        "S27",
        "X27.4.1",
        "慶応3年1月1日",
        "2026-4",
        "26-04-01",
        "2026-04-01T10:00",
        "昭和27年4月1日生",
    ],
)
def test_unrecognised_formats_are_rejected(typed):
    with pytest.raises(WarekiError) as exc:
        parse_date(typed)
    assert "日付の形式" in str(exc.value)
    assert "unrecognised date format" in str(exc.value)


def test_wareki_error_is_a_value_error():
    assert issubclass(WarekiError, ValueError)
    with pytest.raises(ValueError):
        parse_date("平成31年5月1日")


# ---------------------------------------------------------------------------
# format_wareki
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (date(1952, 4, 1), "昭和27年4月1日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2026, 12, 28), "令和8年12月28日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1873, 1, 1), "明治6年1月1日"),
    ],
)
def test_format_wareki(d, text):
    assert format_wareki(d) == text


def test_format_wareki_accepts_datetime():
    assert format_wareki(datetime(2019, 5, 1, 0, 0)) == "令和元年5月1日"


def test_format_wareki_before_1873_is_rejected():
    with pytest.raises(WarekiError):
        format_wareki(date(1872, 12, 31))


def test_era_of():
    assert era_of(date(2019, 4, 30)).name == "平成"
    assert era_of(date(2019, 5, 1)).letter == "R"


def test_round_trip_across_all_eras():
    d = date(1873, 1, 1)
    while d < date(2100, 1, 1):
        assert parse_date(format_wareki(d)) == d
        d += timedelta(days=13)
    for _last, last_date, _first, first_date in BOUNDARIES:
        assert parse_date(format_wareki(last_date)) == last_date
        assert parse_date(format_wareki(first_date)) == first_date


def test_doctests():
    assert doctest.testmod(wareki_module).failed == 0
