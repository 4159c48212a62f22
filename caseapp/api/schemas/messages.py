"""marshmallow's messages in Japanese, with the English after, for every field and validator.

Installed once, when ``caseapp.api.schemas`` is imported and before any schema module is: a
field copies its class's messages when it is made, and ``OneOf`` / ``Range`` fill theirs in when
made, so a schema built before ``install()`` would keep the English.
"""

from marshmallow import Schema, fields, validate


def _ja(japanese: str, english: str) -> str:
    return f"{japanese}（{english}）"


FIELD_MESSAGES: dict[type, dict[str, str]] = {
    fields.Field: {
        "required": _ja("必須の項目です", "Missing data for required field."),
        "null": _ja("null は指定できません", "Field may not be null."),
        "validator_failed": _ja("値が正しくありません", "Invalid value."),
    },
    fields.String: {
        "invalid": _ja("文字列で指定してください", "Not a valid string."),
        "invalid_utf8": _ja("UTF-8 の文字列ではありません", "Not a valid utf-8 string."),
    },
    fields.Number: {
        "invalid": _ja("数値で指定してください", "Not a valid number."),
        "too_large": _ja("数値が大きすぎます", "Number too large."),
    },
    fields.Integer: {"invalid": _ja("整数で指定してください", "Not a valid integer.")},
    fields.Float: {"special": _ja("NaN や無限大は指定できません",
                                  "Special numeric values are not permitted.")},
    fields.Decimal: {"special": _ja("NaN や無限大は指定できません",
                                    "Special numeric values are not permitted.")},
    fields.Boolean: {"invalid": _ja("true か false で指定してください", "Not a valid boolean.")},
    fields.List: {"invalid": _ja("配列（リスト）で指定してください", "Not a valid list.")},
    fields.Tuple: {"invalid": _ja("配列（タプル）で指定してください", "Not a valid tuple.")},
    fields.Mapping: {"invalid": _ja("オブジェクトで指定してください", "Not a valid mapping type.")},
    fields.Nested: {"type": _ja("オブジェクトで指定してください", "Invalid type.")},
    fields.DateTime: {
        "invalid": _ja("日時の形式が正しくありません（例: 2026-11-27T10:00:00+09:00）",
                       "Not a valid datetime."),
        "invalid_awareness": _ja("日時の形式が正しくありません", "Not a valid datetime."),
        "format": _ja('"{input}" は日時として書き出せません', "cannot be formatted as a datetime."),
    },
    fields.AwareDateTime: {
        "invalid_awareness": _ja("時差（+09:00 など）を付けて指定してください",
                                 "Not a valid aware datetime."),
    },
    fields.NaiveDateTime: {
        "invalid_awareness": _ja("時差を付けずに指定してください", "Not a valid naive datetime."),
    },
    fields.Date: {
        "invalid": _ja("日付の形式が正しくありません（例: 2026-11-27）", "Not a valid date."),
        "invalid_awareness": _ja("日付の形式が正しくありません", "Not a valid date."),
        "format": _ja('"{input}" は日付として書き出せません', "cannot be formatted as a date."),
    },
    fields.Time: {
        "invalid": _ja("時刻の形式が正しくありません（例: 10:00:00）", "Not a valid time."),
        "invalid_awareness": _ja("時刻の形式が正しくありません", "Not a valid time."),
        "format": _ja('"{input}" は時刻として書き出せません', "cannot be formatted as a time."),
    },
    fields.TimeDelta: {
        "invalid": _ja("期間の形式が正しくありません", "Not a valid period of time."),
        "format": _ja("{input!r} は期間として書き出せません",
                      "cannot be formatted as a timedelta."),
    },
    fields.Email: {"invalid": _ja("メールアドレスの形式が正しくありません",
                                  "Not a valid email address.")},
    fields.URL: {"invalid": _ja("URL の形式が正しくありません", "Not a valid URL.")},
    fields.UUID: {"invalid_uuid": _ja("UUID の形式が正しくありません", "Not a valid UUID.")},
    fields.Enum: {"unknown": _ja("次のいずれかを指定してください: {choices}",
                                 "Must be one of: {choices}.")},
    fields.IP: {"invalid_ip": _ja("IP アドレスの形式が正しくありません",
                                  "Not a valid IP address.")},
    fields.IPInterface: {"invalid_ip_interface": _ja("IP インターフェースの形式が正しくありません",
                                                     "Not a valid IP interface.")},
}

SCHEMA_MESSAGES = {
    "type": _ja("オブジェクトで指定してください", "Invalid input type."),
    "unknown": _ja("この項目は受け付けていません", "Unknown field."),
}

# Validators read these class attributes (Range and OneOf when made, the others when called).
VALIDATOR_MESSAGES: dict[type, dict[str, str]] = {
    validate.OneOf: {"default_message": _ja("次のいずれかを指定してください: {choices}",
                                            "Must be one of: {choices}.")},
    validate.ContainsOnly: {"default_message": _ja(
        "次に含まれないものがあります: {choices}", "One or more choices not in: {choices}.")},
    validate.ContainsNoneOf: {"default_message": _ja(
        "次のものは指定できません: {values}", "One or more choices in: {values}.")},
    validate.NoneOf: {"default_message": _ja("この値は指定できません", "Invalid input.")},
    validate.Equal: {"default_message": _ja("{other} を指定してください",
                                            "Must be equal to {other}.")},
    validate.Predicate: {"default_message": _ja("値が正しくありません", "Invalid input.")},
    validate.Regexp: {"default_message": _ja("形式が正しくありません",
                                             "String does not match expected pattern.")},
    validate.Email: {"default_message": _ja("メールアドレスの形式が正しくありません",
                                            "Not a valid email address.")},
    validate.URL: {"default_message": _ja("URL の形式が正しくありません", "Not a valid URL.")},
    validate.Length: {
        "message_min": _ja("{min} 文字（個）以上にしてください",
                           "Shorter than minimum length {min}."),
        "message_max": _ja("{max} 文字（個）以下にしてください",
                           "Longer than maximum length {max}."),
        "message_all": _ja("{min}〜{max} 文字（個）にしてください",
                           "Length must be between {min} and {max}."),
        "message_equal": _ja("{equal} 文字（個）にしてください", "Length must be {equal}."),
    },
    validate.Range: {
        # {min_op}/{max_op} are filled in first with the words below, then {{min}}/{{max}}.
        "message_min": _ja("{{min}} {min_op}の値にしてください", "must be at least {{min}}"),
        "message_max": _ja("{{max}} {max_op}の値にしてください", "must be at most {{max}}"),
        "message_all": _ja("{{min}} {min_op}、{{max}} {max_op}の値にしてください",
                           "must be between {{min}} and {{max}}"),
        "message_gte": "以上",
        "message_gt": "より大きい",
        "message_lte": "以下",
        "message_lt": "未満",
    },
}


def install() -> None:
    for field_class, messages in FIELD_MESSAGES.items():
        # Each class gets its own dict: a subclass sharing its parent's would change both.
        own = dict(field_class.__dict__.get("default_error_messages", {}))
        field_class.default_error_messages = {**own, **messages}
    Schema._default_error_messages = {**Schema._default_error_messages, **SCHEMA_MESSAGES}
    for validator_class, attributes in VALIDATOR_MESSAGES.items():
        for name, message in attributes.items():
            setattr(validator_class, name, message)
