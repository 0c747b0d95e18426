"""Validation and normalisation of Danish identifiers and related input values.

Pure domain code: standard library plus ``email_validator`` only. Every validator
raises :class:`IdentifierError` (a :class:`ValueError`) carrying a stable ``code``
and a human-readable ``message``.
"""

from __future__ import annotations

import functools
import re
from datetime import date

from email_validator import EmailNotValidError, validate_email

__all__ = [
    "IdentifierError",
    "cvr_check_digit_ok",
    "mask_cpr",
    "normalise_cvr",
    "normalise_email",
    "normalise_p_number",
    "normalise_phone",
    "normalise_se_number",
    "parse_cpr",
    "parse_danish_date",
    "parse_iso_date",
]

INVALID_CVR = "INVALID_CVR"
INVALID_SE_NUMBER = "INVALID_SE_NUMBER"
INVALID_P_NUMBER = "INVALID_P_NUMBER"
INVALID_CPR = "INVALID_CPR"
INVALID_EMAIL = "INVALID_EMAIL"
INVALID_PHONE = "INVALID_PHONE"
INVALID_DATE = "INVALID_DATE"

# ASCII digits only: ``\d`` and ``str.isdigit`` would also accept e.g. Arabic-Indic digits.
_EIGHT_DIGITS = re.compile(r"[0-9]{8}")
_TEN_DIGITS = re.compile(r"[0-9]{10}")
_CPR = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})-?([0-9]{4})")
_PHONE = re.compile(r"\+?[0-9](?:[0-9 -]*[0-9])?")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DANISH_DATE = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4})")

_MOD11_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
_CERTIFICATE_FORBIDDEN_CHARS = frozenset("æøåÆØÅ")


class IdentifierError(ValueError):
    """An identifier or input value failed validation.

    ``code`` is a stable machine-readable error code (e.g. ``"INVALID_CVR"``);
    ``message`` is a human-readable explanation and equals ``str(error)``.
    """

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"IdentifierError(code={self.code!r}, message={self.message!r})"


def _stripped(value: object, code: str, message: str) -> str:
    if not isinstance(value, str):
        raise IdentifierError(code, message)
    return value.strip()


def cvr_check_digit_ok(digits: str) -> bool:
    """Return True if ``digits`` is 8 ASCII digits passing the modulus-11 check.

    Rule: sum(digit * weight) with weights 2,7,6,5,4,3,2,1 must be divisible by 11.
    """
    if not isinstance(digits, str) or not _EIGHT_DIGITS.fullmatch(digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits, _MOD11_WEIGHTS, strict=True))
    return total % 11 == 0


def _normalise_mod11_number(value: str, code: str, message: str) -> str:
    digits = _stripped(value, code, message)
    if not _EIGHT_DIGITS.fullmatch(digits) or digits[0] == "0" or not cvr_check_digit_ok(digits):
        raise IdentifierError(code, message)
    return digits


def normalise_cvr(value: str) -> str:
    """Validate a CVR number and return it as an 8-digit string.

    Rule: surrounding whitespace is ignored; exactly 8 digits, the first not 0,
    passing the modulus-11 check (weights 2,7,6,5,4,3,2,1).
    """
    return _normalise_mod11_number(
        value, INVALID_CVR, "CVR number must be 8 digits and pass the modulus-11 check"
    )


def normalise_se_number(value: str) -> str:
    """Validate an SE number and return it as an 8-digit string.

    Rule: same as CVR: 8 digits, the first not 0, passing the modulus-11 check.
    """
    return _normalise_mod11_number(
        value, INVALID_SE_NUMBER, "SE number must be 8 digits and pass the modulus-11 check"
    )


def normalise_p_number(value: str) -> str:
    """Validate a P-number (production unit number) and return it as a 10-digit string.

    Rule: surrounding whitespace is ignored; exactly 10 digits.
    """
    message = "P-number must be exactly 10 digits"
    digits = _stripped(value, INVALID_P_NUMBER, message)
    if not _TEN_DIGITS.fullmatch(digits):
        raise IdentifierError(INVALID_P_NUMBER, message)
    return digits


def _cpr_century(yy: int, seventh_digit: int) -> int:
    """Return the century (1800, 1900 or 2000) from the standard Danish CPR table."""
    if seventh_digit <= 3:
        return 1900
    if seventh_digit in (4, 9):
        return 2000 if yy <= 36 else 1900
    # 5, 6, 7, 8
    return 2000 if yy <= 57 else 1800


def parse_cpr(value: str) -> tuple[str, date]:
    """Parse a CPR number and return ``(ten_digits, date_of_birth)``.

    Rule: ``DDMMYY-SSSS`` or ``DDMMYYSSSS`` (surrounding whitespace ignored). DDMMYY
    must be a real date; the century follows from the 7th digit: 0-3 -> 1900s;
    4 or 9 -> 2000s if YY <= 36 else 1900s; 5-8 -> 2000s if YY <= 57 else 1800s.
    The date of birth may not lie in the future. No modulus-11 check is made.
    """
    generic = "CPR number must be 10 digits in the form DDMMYY-SSSS"
    text = _stripped(value, INVALID_CPR, generic)
    match = _CPR.fullmatch(text)
    if match is None:
        raise IdentifierError(INVALID_CPR, generic)
    dd, mm, yy, serial = match.groups()
    year = _cpr_century(int(yy), int(serial[0])) + int(yy)
    try:
        born = date(year, int(mm), int(dd))
    except ValueError:
        raise IdentifierError(
            INVALID_CPR, "CPR number must start with a valid date of birth (DDMMYY)"
        ) from None
    if born > date.today():
        raise IdentifierError(INVALID_CPR, "CPR number has a date of birth in the future")
    return f"{dd}{mm}{yy}{serial}", born


def mask_cpr(cpr10: str) -> str:
    """Mask a CPR number as ``DDMMYY-****``, hiding the serial digits.

    Rule: input is 10 digits (a dash after the 6th digit is tolerated).
    """
    message = "CPR number must be 10 digits in the form DDMMYY-SSSS"
    text = _stripped(cpr10, INVALID_CPR, message)
    match = _CPR.fullmatch(text)
    if match is None:
        raise IdentifierError(INVALID_CPR, message)
    dd, mm, yy, _serial = match.groups()
    return f"{dd}{mm}{yy}-****"


# An ASCII dot-atom local part: what nearly every address in a bulk file has.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@functools.lru_cache(maxsize=4096)
def _normalised_domain(domain: str) -> str | None:
    """The domain as email_validator normalises it, or None when it refuses it. A file of 100,000
    addresses has a handful of domains; validating each domain once is most of the saving."""
    try:
        return validate_email("a@" + domain, check_deliverability=False).domain
    except EmailNotValidError:
        return None


def _common_address(value: str) -> str | None:
    """email_validator's normalised form for the common case - an ASCII dot-atom local part of at
    most 64 characters, a domain it accepts, at most 254 characters in all - or None: then
    email_validator itself decides (and words the error). tests/test_identifiers.py checks this
    against email_validator on generated addresses."""
    local, at, domain = value.rpartition("@")
    if not at or len(local) > 64 or _DOT_ATOM.fullmatch(local) is None:
        return None
    normalised_domain = _normalised_domain(domain)
    if normalised_domain is None:
        return None
    normalised = f"{local}@{normalised_domain}"
    return normalised if len(normalised) <= 254 else None


def normalise_email(value: str, *, for_certificate: bool = False) -> str:
    """Syntactically validate an e-mail address and return its normalised form.

    Rule: surrounding whitespace is ignored; must pass ``email_validator`` syntax
    checks (no deliverability/DNS check).
    When ``for_certificate`` is True the address may not contain æ, ø or å
    (upper or lower case).
    """
    if not isinstance(value, str) or not value.strip():
        raise IdentifierError(INVALID_EMAIL, "E-mail address must not be empty")
    value = value.strip()
    normalised = _common_address(value)
    if normalised is None:
        try:
            normalised = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise IdentifierError(INVALID_EMAIL, f"E-mail address is not valid: {exc}") from None
    if for_certificate and (
        _CERTIFICATE_FORBIDDEN_CHARS & set(value) or _CERTIFICATE_FORBIDDEN_CHARS & set(normalised)
    ):
        raise IdentifierError(
            INVALID_EMAIL, "Certificate e-mail addresses may not contain the letters æ, ø or å"
        )
    return normalised


def normalise_phone(value: str) -> str:
    """Validate a phone number and return it without spaces or dashes.

    Rule: optional leading '+', then digits optionally separated by spaces or
    dashes; 8 to 15 digits in total.
    """
    message = "Phone number must be 8 to 15 digits, optionally starting with '+'"
    text = _stripped(value, INVALID_PHONE, message)
    if not _PHONE.fullmatch(text):
        raise IdentifierError(INVALID_PHONE, message)
    compact = text.replace(" ", "").replace("-", "")
    digit_count = len(compact) - compact.startswith("+")
    if not 8 <= digit_count <= 15:
        raise IdentifierError(INVALID_PHONE, message)
    return compact


def _build_date(year: str, month: str, day: str, message: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise IdentifierError(INVALID_DATE, message) from None


def parse_iso_date(value: str) -> date:
    """Parse a strict ISO 8601 calendar date ``YYYY-MM-DD``.

    Rule: exactly 4-digit year, 2-digit month and 2-digit day forming a real date
    (surrounding whitespace ignored).
    """
    message = "Date must be a valid date in the format YYYY-MM-DD"
    text = _stripped(value, INVALID_DATE, message)
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise IdentifierError(INVALID_DATE, message)
    year, month, day = match.groups()
    return _build_date(year, month, day, message)


def parse_danish_date(value: str) -> date:
    """Parse a Danish-style date ``DD-MM-YYYY`` (as used in CSV import).

    Rule: exactly 2-digit day, 2-digit month and 4-digit year forming a real date
    (surrounding whitespace ignored).
    """
    message = "Date must be a valid date in the format DD-MM-YYYY"
    text = _stripped(value, INVALID_DATE, message)
    match = _DANISH_DATE.fullmatch(text)
    if match is None:
        raise IdentifierError(INVALID_DATE, message)
    day, month, year = match.groups()
    return _build_date(year, month, day, message)
