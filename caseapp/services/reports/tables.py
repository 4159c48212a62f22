"""The monthly report as CSV tables and its month arguments, shared by the API and the console.

One CSV per table, with the Japanese column labels the city's spreadsheets use; UTF-8 with a BOM
(what makes Excel read it as UTF-8 rather than Shift_JIS) and CRLF line ends.
"""

import csv
import io
import re

# Years the calendar can hold with a month to spare on either side; the counter's records
# fall well inside.
MONTH = r"^(19|20)\d\d-(0[1-9]|1[0-2])$"
MONTH_ERROR = "1900-01〜2099-12 の YYYY-MM の形で指定してください（month as YYYY-MM）"
ORDER_ERROR = "from は to 以前の月にしてください"

CSV_TABLES = {
    "by_month": [("month", "月"), ("consultations", "相談件数"), ("anonymous", "匿名"),
                 ("new_cases", "新規相談受付件数"), ("new_clients", "新規相談者"),
                 ("returning_clients", "継続相談者"),
                 ("new_cases_per_100k", "人口10万人あたり新規相談受付件数")],
    "by_topic": [("topic", "相談内容コード"), ("label", "相談内容"), ("count", "件数")],
    "by_channel": [("channel", "受付方法"), ("count", "件数")],
    "by_district": [("district", "地区"), ("count", "件数")],
    "by_event": [("event_id", "相談会ID"), ("name", "相談会"), ("date", "開催日"),
                 ("count", "件数")],
    "referrals_by_partner": [("partner", "連携機関コード"), ("name", "連携機関"),
                             ("total", "つなぎ件数")],
    "rejections": [("reason", "受け入れ不可の理由"), ("count", "件数")],
    "outcomes": [("outcome", "結果"), ("count", "件数")],
}


def is_month(value: str) -> bool:
    return re.match(MONTH, value) is not None


def csv_name(table: str, first: str, last: str) -> str:
    return f"caseapp-{table}-{first}_{last}.csv"


def to_csv(data: dict, table: str) -> bytes:
    """One table of ``monthly.read``'s answer as CSV."""
    columns = CSV_TABLES[table]
    rows = data[table]
    if table == "referrals_by_partner":
        statuses = sorted({s for row in rows for s in row["by_status"]})
        columns = [*columns, *((f"by_status.{s}", s) for s in statuses)]
        rows = [{**row, **{f"by_status.{s}": row["by_status"].get(s, 0) for s in statuses}}
                for row in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _key, label in columns])
    for row in rows:
        writer.writerow([row.get(key, "") for key, _label in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


__all__ = ["CSV_TABLES", "MONTH", "MONTH_ERROR", "ORDER_ERROR", "csv_name", "is_month",
           "to_csv"]
