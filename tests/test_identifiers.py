"""Tests for app.domain.common.identifiers: Danish identifiers, e-mail, phone and dates."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.common.identifiers import (
    IdentifierError,
    cvr_check_digit_ok,
    mask_cpr,
    normalise_cvr,
    normalise_email,
    normalise_p_number,
    normalise_phone,
    normalise_se_number,
    parse_cpr,
    parse_danish_date,
    parse_iso_date,
)

WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def weighted_sum(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits, WEIGHTS, strict=True))


VALID_MOD11_NUMBERS = ["12345674", "11223346", "86397250", "44234785", "22597620", "68085012", "13415285"]
INVALID_MOD11_NUMBERS = [
    "12345678",  # bad check digit
    "12345675",  # bad check digit, off by one
    "01234567",  # leading zero
    "00000000",  # leading zero (sum is 0, but still rejected)
    "1234567",  # 7 digits
    "123456740",  # 9 digits
    "abcdefgh",
    "1234 5674",  # inner whitespace
    "1234567a",
    "١٢٣٤٥٦٧٤",  # non-ASCII digits
    "",
    "   ",
]


# --- IdentifierError -----------------------------------------------------------------


def test_identifier_error_is_a_value_error_with_code_and_message():
    error = IdentifierError("INVALID_CVR", "CVR number is wrong")
    assert isinstance(error, ValueError)
    assert error.code == "INVALID_CVR"
    assert error.message == "CVR number is wrong"
    assert str(error) == "CVR number is wrong"


# --- CVR / SE ------------------------------------------------------------------------


@pytest.mark.parametrize("cvr", VALID_MOD11_NUMBERS)
def test_the_example_numbers_really_pass_the_modulus_11_rule(cvr):
    assert weighted_sum(cvr) % 11 == 0
    assert cvr_check_digit_ok(cvr) is True


@pytest.mark.parametrize("digits", ["12345678", "1234567", "abcdefgh", "", "123456740"])
def test_check_digit_helper_rejects_wrong_sums_and_wrong_shapes(digits):
    assert cvr_check_digit_ok(digits) is False


@pytest.mark.parametrize("cvr", VALID_MOD11_NUMBERS)
def test_valid_cvr_is_returned_unchanged(cvr):
    assert normalise_cvr(cvr) == cvr


@pytest.mark.parametrize("raw", [" 12345674", "12345674 ", "\t12345674\n"])
def test_cvr_surrounding_whitespace_is_stripped(raw):
    assert normalise_cvr(raw) == "12345674"


@pytest.mark.parametrize("cvr", INVALID_MOD11_NUMBERS)
def test_invalid_cvr_is_rejected_with_invalid_cvr_code(cvr):
    with pytest.raises(IdentifierError) as excinfo:
        normalise_cvr(cvr)
    assert excinfo.value.code == "INVALID_CVR"
    assert "CVR" in str(excinfo.value)
    assert str(excinfo.value) == excinfo.value.message


def test_cvr_with_bad_check_digit_is_rejected():
    with pytest.raises(IdentifierError) as excinfo:
        normalise_cvr("12345678")
    assert excinfo.value.code == "INVALID_CVR"
    assert excinfo.value.message == "CVR number must be 8 digits and pass the modulus-11 check"


@pytest.mark.parametrize("se", VALID_MOD11_NUMBERS)
def test_valid_se_number_is_returned_unchanged(se):
    assert normalise_se_number(f" {se} ") == se


@pytest.mark.parametrize("se", INVALID_MOD11_NUMBERS)
def test_invalid_se_number_is_rejected_with_invalid_se_number_code(se):
    with pytest.raises(IdentifierError) as excinfo:
        normalise_se_number(se)
    assert excinfo.value.code == "INVALID_SE_NUMBER"


# --- P-number ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1234567890", "1234567890"), ("0000000001", "0000000001"), (" 1003388394 ", "1003388394")],
)
def test_valid_p_number_is_ten_digits(raw, expected):
    assert normalise_p_number(raw) == expected


@pytest.mark.parametrize(
    "raw", ["123456789", "12345678901", "12345 67890", "123456789a", "abcdefghij", "", "  "]
)
def test_invalid_p_number_is_rejected_with_invalid_p_number_code(raw):
    with pytest.raises(IdentifierError) as excinfo:
        normalise_p_number(raw)
    assert excinfo.value.code == "INVALID_P_NUMBER"


# --- CPR -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "digits", "born"),
    [
        ("010190-1234", "0101901234", date(1990, 1, 1)),
        ("0101901234", "0101901234", date(1990, 1, 1)),
        ("  010190-1234 ", "0101901234", date(1990, 1, 1)),
        ("010100-3999", "0101003999", date(1900, 1, 1)),  # 0-3 -> 1900s even for YY=00
        ("291200-4321", "2912004321", date(2000, 12, 29)),  # 4 and YY<=36 -> 2000s
        ("010199-4234", "0101994234", date(1999, 1, 1)),  # 4 and YY>36 -> 1900s
        ("150520-9876", "1505209876", date(2020, 5, 15)),  # 9 and YY<=36 -> 2000s
        ("150537-9876", "1505379876", date(1937, 5, 15)),  # 9 and YY>36 -> 1900s
        ("010158-5234", "0101585234", date(1858, 1, 1)),  # 5-8 and YY>57 -> 1800s
        ("311299-8000", "3112998000", date(1899, 12, 31)),  # 5-8 and YY>57 -> 1800s
        ("010110-6000", "0101106000", date(2010, 1, 1)),  # 5-8 and YY<=57 -> 2000s
        ("290200-4000", "2902004000", date(2000, 2, 29)),  # 2000 is a leap year
    ],
)
def test_valid_cpr_returns_digits_and_date_of_birth(raw, digits, born):
    assert parse_cpr(raw) == (digits, born)


@pytest.mark.parametrize(
    "raw",
    [
        "320190-1234",  # day 32
        "011390-1234",  # month 13
        "000190-1234",  # day 0
        "300290-1234",  # 30 February
        "290290-1234",  # 29 February in a non-leap year
        "290200-1000",  # 1900 was not a leap year
        "010190-123",  # too short
        "010190-12345",  # too long
        "01019-01234",  # dash in the wrong place
        "010190 1234",  # space instead of dash
        "010190--1234",
        "01019O-1234",  # letter O
        "",
    ],
)
def test_invalid_cpr_is_rejected_with_invalid_cpr_code(raw):
    with pytest.raises(IdentifierError) as excinfo:
        parse_cpr(raw)
    assert excinfo.value.code == "INVALID_CPR"


def test_cpr_with_date_of_birth_in_2035_is_rejected_as_future():
    # 7th digit 4 and YY=35 <= 36 -> 2035-01-01
    with pytest.raises(IdentifierError) as excinfo:
        parse_cpr("010135-4234")
    assert excinfo.value.code == "INVALID_CPR"
    assert "future" in excinfo.value.message


def test_cpr_born_tomorrow_is_rejected_but_born_today_is_accepted():
    def cpr_for(day: date) -> str:
        yy = day.year % 100
        seventh = "4" if yy <= 36 else "5"  # both mean 2000s for these YY
        return f"{day:%d%m}{yy:02d}-{seventh}000"

    today = date.today()
    assert parse_cpr(cpr_for(today))[1] == today
    with pytest.raises(IdentifierError) as excinfo:
        parse_cpr(cpr_for(today + timedelta(days=1)))
    assert excinfo.value.code == "INVALID_CPR"


@pytest.mark.parametrize(
    ("cpr10", "masked"),
    [("0101901234", "010190-****"), ("2912004321", "291200-****"), ("010190-1234", "010190-****")],
)
def test_mask_cpr_hides_the_serial_digits(cpr10, masked):
    assert mask_cpr(cpr10) == masked


@pytest.mark.parametrize("raw", ["010190123", "abcdefghij", ""])
def test_mask_cpr_rejects_something_that_is_not_a_cpr(raw):
    with pytest.raises(IdentifierError) as excinfo:
        mask_cpr(raw)
    assert excinfo.value.code == "INVALID_CPR"


def allowed_seventh_digits(year: int) -> list[int]:
    """Seventh CPR digits that map YY of ``year`` to ``year``'s century per the table."""
    yy = year % 100
    century = year - yy
    digits = []
    for d in range(10):
        if d <= 3:
            c = 1900
        elif d in (4, 9):
            c = 2000 if yy <= 36 else 1900
        else:
            c = 2000 if yy <= 57 else 1800
        if c == century:
            digits.append(d)
    return digits


@settings(max_examples=200, deadline=None)
@given(data=st.data(), born=st.dates(min_value=date(1858, 1, 1), max_value=date.today()))
def test_parse_cpr_round_trips_every_date_of_birth_since_1858(data, born):
    seventh = data.draw(st.sampled_from(allowed_seventh_digits(born.year)), label="seventh digit")
    rest = data.draw(st.integers(min_value=0, max_value=999), label="last three digits")
    serial = f"{seventh}{rest:03d}"
    with_dash = f"{born:%d%m}{born.year % 100:02d}-{serial}"
    digits, parsed = parse_cpr(with_dash)
    assert parsed == born
    assert digits == with_dash.replace("-", "")
    assert parse_cpr(digits) == (digits, born)
    assert mask_cpr(digits) == with_dash[:7] + "****"


# --- E-mail --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a.b@example.dk", "a.b@example.dk"),
        ("A.B@Example.DK", "A.B@example.dk"),  # domain is lower-cased
        (" a.b@example.dk ", "a.b@example.dk"),
        ("first+tag@sub.example.com", "first+tag@sub.example.com"),
        ("ærlig@example.dk", "ærlig@example.dk"),
    ],
)
def test_valid_email_is_normalised(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["no-at-sign", "a@", "@example.dk", "a b@example.dk", "a@@example.dk", "a@localhost", "", "   "]
)
def test_invalid_email_is_rejected_with_invalid_email_code(raw):
    with pytest.raises(IdentifierError) as excinfo:
        normalise_email(raw)
    assert excinfo.value.code == "INVALID_EMAIL"


@pytest.mark.parametrize(
    "raw", ["ærlig@example.dk", "soeren.sø@example.dk", "blå@example.dk", "Æble@example.dk", "ØÅ@example.dk"]
)
def test_certificate_email_with_danish_letters_is_rejected(raw):
    with pytest.raises(IdentifierError) as excinfo:
        normalise_email(raw, for_certificate=True)
    assert excinfo.value.code == "INVALID_EMAIL"
    for letter in ("æ", "ø", "å"):
        assert letter in excinfo.value.message


def test_certificate_email_without_danish_letters_is_accepted():
    assert normalise_email("aerlig@example.dk", for_certificate=True) == "aerlig@example.dk"


# --- Phone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345678", "12345678"),
        ("+4512345678", "+4512345678"),
        ("+45 12 34 56 78", "+4512345678"),
        ("12-34-56-78", "12345678"),
        (" 0045 1234 5678 ", "004512345678"),
        ("+123456789012345", "+123456789012345"),  # 15 digits
    ],
)
def test_valid_phone_has_separators_removed(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "1234567",  # 7 digits
        "+1234567",  # 7 digits after '+'
        "1234567890123456",  # 16 digits
        "++4512345678",
        "45+12345678",
        "+ 4512345678",
        "12345678-",
        "1234 5678x",
        "(45) 12345678",
        "",
    ],
)
def test_invalid_phone_is_rejected_with_invalid_phone_code(raw):
    with pytest.raises(IdentifierError) as excinfo:
        normalise_phone(raw)
    assert excinfo.value.code == "INVALID_PHONE"


# --- Dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-12-31", date(2024, 12, 31)),
        ("2024-02-29", date(2024, 2, 29)),
        ("1999-01-01", date(1999, 1, 1)),
        ("0001-01-01", date(1, 1, 1)),
    ],
)
def test_valid_iso_date_is_parsed(raw, expected):
    assert parse_iso_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "24-1-1",
        "2024-1-01",
        "31-12-2024",
        "20241231",
        "2024-12-31T00:00:00",
        "2024/12/31",
        "0000-01-01",
        "",
    ],
)
def test_invalid_iso_date_is_rejected_with_invalid_date_code(raw):
    with pytest.raises(IdentifierError) as excinfo:
        parse_iso_date(raw)
    assert excinfo.value.code == "INVALID_DATE"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("31-12-2024", date(2024, 12, 31)),
        ("29-02-2024", date(2024, 2, 29)),
        ("01-01-1990", date(1990, 1, 1)),
        (" 05-06-2023 ", date(2023, 6, 5)),
    ],
)
def test_valid_danish_date_is_parsed(raw, expected):
    assert parse_danish_date(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2024-12-31", "30-02-2024", "32-01-2024", "01-13-2024", "1-1-2024", "31/12/2024", "31-12-24", ""]
)
def test_invalid_danish_date_is_rejected_with_invalid_date_code(raw):
    with pytest.raises(IdentifierError) as excinfo:
        parse_danish_date(raw)
    assert excinfo.value.code == "INVALID_DATE"


# --- the common-address fast path of normalise_email agrees with email_validator -----------------------

_ATOM = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
_LOCAL = st.one_of(
    st.text(alphabet=_ATOM + ".", min_size=1, max_size=70),
    st.text(alphabet=_ATOM, min_size=1, max_size=66),
    st.sampled_from(["a", "a.b", ".a", "a.", "a..b", "æble", "\"quoted\"", "a b", "x" * 64, "x" * 65]),
)
_DOMAIN = st.one_of(
    st.sampled_from([
        "example.dk", "EXAMPLE.DK", "sub.Example.com", "xn--bcher-kva.ch", "bücher.ch", "mail.localhost", "localhost",
        "a.test", "a.invalid", "a.local", "a.onion", "a.arpa", "a.123", "a", "-a.dk", "a-.dk", "a..dk", ".a.dk",
        "a.dk.", "x" * 63 + ".dk", "x" * 64 + ".dk", ("y" * 60 + ".") * 4 + "dk", "1.2.3.4", "[1.2.3.4]", "ø.dk",
        "a_b.dk", "a.d-k", "a.dk-", "ex ample.dk",
    ]),
    st.from_regex(r"[a-zA-Z0-9-]{1,12}(\.[a-zA-Z0-9-]{1,12}){0,3}\.[a-zA-Z]{2,6}", fullmatch=True),
)


def _email_validator_says(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return "REFUSED"


@settings(max_examples=600, deadline=None)
@given(local=_LOCAL, domain=_DOMAIN)
def test_the_common_address_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    from app.domain.common.identifiers import _common_address

    value = f"{local}@{domain}"
    fast = _common_address(value)
    if fast is not None:  # the fast path only ever answers for addresses email_validator accepts, identically
        assert fast == _email_validator_says(value), value
    try:
        ours = normalise_email(value)
    except IdentifierError:
        ours = "REFUSED"
    assert ours == _email_validator_says(value), value
