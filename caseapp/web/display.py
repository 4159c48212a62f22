"""How the console shows values: Tokyo times, dates with their 和暦, codes by Japanese names."""

from datetime import date, datetime

from flask import Flask

from caseapp.domain.legal_basis import SUPPORT_MEETING_LAWS
from caseapp.jp.wareki import WarekiError, format_wareki
from caseapp.rules.calendar import TOKYO
from caseapp.rules.vocab import TOPICS

CHANNELS = {"window": "窓口", "phone": "電話", "visit": "訪問", "outreach": "アウトリーチ",
            "event": "相談会"}
URGENCIES = {"normal": "通常", "urgent": "急ぎ", "emergency": "緊急"}
REFERRAL_STATUSES = {
    "awaiting_consent": "同意待ち", "requested": "送付待ち", "sent": "送付済み",
    "received": "受領済み", "accepted": "受け入れ", "in_progress": "対応中",
    "rejected": "お断り", "completed": "完了", "cancelled": "取り消し", "failed": "送付失敗"}
CASE_STATUSES = {"open": "対応中", "closed": "終了"}
HOUSING = {"stable": "安定している", "at_risk": "失うおそれがある", "lost": "失った"}
CONSENT_SCOPES = {"network": "ネットワーク全体", "partners": "指定の連携先のみ"}
CONSENT_METHODS = {"written": "書面", "oral": "口頭", "electronic": "電子"}
DUPLICATE_REASONS = {"same_name": "氏名が同じ", "same_reading": "ふりがなが同じ",
                     "same_birth_date": "生年月日が同じ",
                     "similar_birth_date": "生年月日が似ている",
                     "same_phone": "電話番号が同じ", "same_address": "住所が同じ"}
MATCHES = {"exact": "完全一致", "prefix": "前方一致", "substring": "部分一致"}
ACTIONS = {"refer": "紹介", "suggest": "提案"}


def tokyo(value: datetime | None) -> str:
    """``2026年11月27日（令和8年11月27日）10:00``."""
    if value is None:
        return ""
    local = value.astimezone(TOKYO)
    return f"{local:%Y-%m-%d %H:%M}（{format_wareki(local.date())}）"


def with_wareki(value: date | None) -> str:
    """``1952-04-01（昭和27年4月1日）``."""
    if value is None:
        return ""
    try:
        return f"{value.isoformat()}（{format_wareki(value)}）"
    except WarekiError:
        return value.isoformat()


def label(value, names: dict) -> str:
    return names.get(value, value) if value is not None else ""


def register(app: Flask) -> None:
    app.add_template_filter(tokyo, "tokyo")
    app.add_template_filter(with_wareki, "wareki")
    app.add_template_filter(label, "label")
    app.jinja_env.globals.update(
        TOPIC_NAMES=TOPICS, CHANNEL_NAMES=CHANNELS, URGENCY_NAMES=URGENCIES,
        REFERRAL_STATUS_NAMES=REFERRAL_STATUSES, CASE_STATUS_NAMES=CASE_STATUSES,
        HOUSING_NAMES=HOUSING, SCOPE_NAMES=CONSENT_SCOPES, METHOD_NAMES=CONSENT_METHODS,
        REASON_NAMES=DUPLICATE_REASONS, MATCH_NAMES=MATCHES, ACTION_NAMES=ACTIONS,
        FACT_NAMES=FACT_NAMES, DELIVERY_STATE_NAMES=DELIVERY_STATES,
        DELIVERY_CHANNEL_NAMES=DELIVERY_CHANNELS, REFERRAL_METHOD_NAMES=METHODS,
        REMINDER_KIND_NAMES=REMINDER_KINDS, REMINDER_STATUS_NAMES=REMINDER_STATUSES,
        LAW_NAMES=SUPPORT_MEETING_LAWS)

FACT_NAMES = {
    "age": "年齢", "household_size": "世帯の人数", "monthly_income": "月収（円）",
    "savings": "預貯金（円）", "rent": "家賃（円）", "housing": "住まい",
    "employed": "仕事をしている", "in_school": "在学中", "lost_work_within_2y": "2年以内に離職",
    "wants_public_assistance": "生活保護を希望", "disability_certificate": "障害者手帳がある",
    "reduced_cognitive_capacity": "判断能力の低下がある", "family_nearby": "近くに家族がいる",
    "criminal_proceedings": "刑事手続き中", "minor_involved": "未成年が関わる",
    "debts": "借入", "benefits": "受けている制度"}

DELIVERY_STATES = {"pending": "送付待ち", "in_flight": "送付中", "delivered": "届いた",
                   "sent": "送った", "failed": "失敗", "held": "保留（法的根拠待ち）",
                   "cancelled": "取り消し", "no_recipient": "宛先なし"}
DELIVERY_CHANNELS = {"webhook": "システム連携", "email": "メール", "inbox": "受信箱"}
METHODS = {"info_only": "情報提供", "intro_letter": "紹介状", "accompany": "同行",
           "formal_request": "正式な依頼"}
REMINDER_KINDS = {"partner_ack": "連携先の受領確認", "partner_progress": "連携先の進み具合",
                  "client_followup": "相談者へのフォロー", "case_next_action": "次の対応の期限",
                  "escalation": "上司への報告"}
REMINDER_STATUSES = {"due": "予定", "sent": "通知済み", "withdrawn": "取り下げ"}
