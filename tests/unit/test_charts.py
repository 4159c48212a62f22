"""The report charts: numbers in words for screen readers, patterns for black-and-white print."""

import re

from caseapp.web import charts


def test_a_bar_chart_says_every_number_and_draws_with_patterns():
    svg = str(charts.horizontal("chart-x", "相談内容別", [("債務について", 12), ("<その他>", 3)]))
    assert 'role="img"' in svg and 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<desc id="chart-x-desc">債務について: 12件、&lt;その他&gt;: 3件</desc>' in svg
    assert "<その他>" not in svg  # labels are escaped
    fills = re.findall(r'<rect x="\d+" y="[\d.]+" width="(\d+)"[^>]*fill="([^"]+)"', svg)
    assert [int(width) for width, _fill in fills] == [330, 82]  # in proportion
    assert {fill for _width, fill in fills} == {"url(#chart-x-hatch)"}
    assert ">12件</text>" in svg and ">3件</text>" in svg  # the number beside each bar


def test_an_empty_chart_says_so():
    svg = str(charts.horizontal("chart-y", "受付方法別", []))
    assert "<desc id=\"chart-y-desc\">データがありません</desc>" in svg


def test_grouped_columns_name_each_series_in_words_and_in_a_legend():
    svg = str(charts.columns("chart-m", "月別", ["2026-10", "2026-11"],
                             [("相談件数", "hatch", [1, 4]), ("うち匿名", "dots", [0, 2])]))
    assert ("2026-10: 相談件数 1件、うち匿名 0件、2026-11: 相談件数 4件、うち匿名 2件"
            in svg)
    assert 'fill="url(#chart-m-dots)"' in svg and ">うち匿名</text>" in svg
    assert 'id="chart-m-hatch"' in svg and 'id="chart-m-dots"' in svg
