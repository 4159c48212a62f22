import doctest

import pytest

import caseapp.jp.phone as phone_module
from caseapp.jp.phone import format_phone, phone_digits, postal_code

# ---------------------------------------------------------------------------
# phone_digits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("090-1234-5678", "09012345678"),
        ("０９０－１２３４－５６７８", "09012345678"),  # full-width digits and hyphens
        ("０９０ー１２３４ー５６７８", "09012345678"),  # kana IME long-vowel mark as hyphen
        ("09012345678", "09012345678"),
        ("090 1234 5678", "09012345678"),
        ("(090)1234-5678", "09012345678"),
        ("+81 90-1234-5678", "09012345678"),
        ("+81-90-1234-5678", "09012345678"),
        ("+819012345678", "09012345678"),
        ("+81 (0)90-1234-5678", "09012345678"),  # redundant trunk 0 in brackets
        ("＋８１ ９０ １２３４ ５６７８", "09012345678"),
        ("088-823-1234", "0888231234"),
        ("(088)823-1234", "0888231234"),
        ("088（823）1234", "0888231234"),
        ("+81 88-823-1234", "0888231234"),
        ("03-1234-5678", "0312345678"),
        ("0120-123-456", "0120123456"),
        (" 0887-34-1234 ", "0887341234"),
        ("TEL: 090.1234.5678", "09012345678"),
    ],
)
def test_phone_digits(typed, digits):
    assert phone_digits(typed) == digits


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "823-1234",  # local number without area code: 7 digits
        "090-1234-56789",  # 12 digits
        "088-823-1234 内線 12",  # extension makes it 12 digits
        "123-4567-8901",  # does not start with 0
        "81-90-1234-5678",  # country code without +: 12 digits
        "電話なし",
    ],
)
def test_phone_digits_rejects(typed):
    with pytest.raises(ValueError) as exc:
        phone_digits(typed)
    assert "電話番号" in str(exc.value)
    assert "phone number" in str(exc.value)


def test_phone_digits_ten_digit_mobile_like_is_accepted_as_length_only_check():
    # Only the length and the leading 0 are validated; formatting falls back gracefully.
    assert phone_digits("090-1234-567") == "0901234567"
    assert format_phone("0901234567") == "090-123-4567"


# ---------------------------------------------------------------------------
# format_phone
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "display"),
    [
        ("09012345678", "090-1234-5678"),
        ("08012345678", "080-1234-5678"),
        ("07012345678", "070-1234-5678"),
        ("05012345678", "050-1234-5678"),  # IP phone
        ("0888231234", "088-823-1234"),  # Kochi city (3-digit area code)
        ("0886211234", "088-621-1234"),  # Tokushima city, also 088
        ("0887341234", "0887-34-1234"),  # Aki / Muroto (0887)
        ("0880341234", "0880-34-1234"),  # Shimanto (0880)
        ("0889421234", "0889-42-1234"),  # Susaki (0889)
        ("0312345678", "03-1234-5678"),  # Tokyo
        ("0612345678", "06-1234-5678"),  # Osaka
        ("0120123456", "0120-123-456"),  # free dial
        ("0570123456", "0570-123-456"),  # navi dial
        ("08001234567", "0800-123-4567"),  # free dial, 11 digits
        ("0112345678", "011-234-5678"),  # Sapporo via fallback
        ("0451234567", "045-123-4567"),  # Yokohama via fallback
    ],
)
def test_format_phone(digits, display):
    assert format_phone(digits) == display


def test_format_phone_accepts_already_formatted_or_full_width_input():
    assert format_phone("０９０－１２３４－５６７８") == "090-1234-5678"
    assert format_phone("+81 88-823-1234") == "088-823-1234"


def test_format_then_digits_round_trips():
    for digits in ("09012345678", "0888231234", "0887341234", "0312345678", "0120123456"):
        assert phone_digits(format_phone(digits)) == digits


def test_format_phone_rejects_invalid():
    with pytest.raises(ValueError):
        format_phone("12345")


# ---------------------------------------------------------------------------
# postal_code
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "〒783-0004",
        "7830004",
        "783-0004",
        "７８３－０００４",
        "〒７８３０００４",
        "〒 783-0004",
        "783 0004",
        "783ー0004",  # kana IME long-vowel mark typed for the hyphen
        "783−0004",  # U+2212
        "〶783-0004",  # circled postal mark
        " 783-0004 ",
    ],
)
def test_postal_code(typed):
    assert postal_code(typed) == "783-0004"


def test_postal_code_other_values():
    assert postal_code("〒780-8571") == "780-8571"  # Kochi city hall
    assert postal_code("1000001") == "100-0001"


@pytest.mark.parametrize(
    "typed", ["", "783-004", "78300045", "783--0004", "abc-defg", "〒", "783-0004-1"]
)
def test_postal_code_rejects(typed):
    with pytest.raises(ValueError) as exc:
        postal_code(typed)
    assert "郵便番号" in str(exc.value)
    assert "postal code" in str(exc.value)


def test_doctests():
    assert doctest.testmod(phone_module).failed == 0
