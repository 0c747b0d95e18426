"""Validation every area uses: collecting field errors (`Errors`), trimming optional text, right
codes, the organisation's P-units/SE-numbers (`OrgContext`, read once per use case or import) and
ISO dates/moments. Pure, except `org_context`, which reads what `OrgContext` holds."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from app.domain.common import identifiers as ids
from app.domain.common.errors import DomainError, ValidationFailed
from app.domain.common.organisation import Organisation, OrganisationSettings

if TYPE_CHECKING:  # for the annotation only: validation is a leaf every area imports, ports imports every area
    from app.domain.common.ports import UnitOfWork

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
RIGHT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.\-]{0,63}$")
T = TypeVar("T")


class ValidationErrorCode(enum.StrEnum):
    UNKNOWN_P_NUMBER = "UNKNOWN_P_NUMBER"
    UNKNOWN_SE_NUMBER = "UNKNOWN_SE_NUMBER"
    INVALID_RIGHT = "INVALID_RIGHT"


V = ValidationErrorCode


class Errors:
    """Collects every field error of an input before failing, so a client sees them all."""

    def __init__(self) -> None:
        self.items: list[DomainError] = []

    def add(self, code: str, message: str, *path: str) -> None:
        self.items.append(DomainError(code, message, list(path)))

    def check(self, path: str, fn: Callable[[Any], T], value: Any) -> T | None:
        try:
            return fn(value)
        except ids.IdentifierError as exc:
            self.items.append(DomainError(exc.code, exc.message, [path]))
            return None

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


INVALID_CHARACTERS = "INVALID_CHARACTERS"
# C0 and C1 control characters (line breaks, tabs, escapes), DEL and the Unicode line separators.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(value: str) -> bool:
    return CONTROL_CHARACTERS.search(value) is not None


def one_line(errors: Errors, path: str, value: str) -> str:
    """A name is one line of text: a line break or an escape in it (which then lands in a mail's
    subject, a CSV cell or a terminal) is refused as INVALID_CHARACTERS."""
    if has_control_characters(value):
        errors.add(INVALID_CHARACTERS, "Line breaks, tabs and control characters are not allowed", path)
    return value


def optional(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_rights(errors: Errors, values: Sequence[str], catalogue: frozenset[str]) -> list[str]:
    """Right codes from the catalogue, each once."""
    codes: list[str] = []
    for i, raw in enumerate(values):
        code = raw.strip().upper()
        if not RIGHT_CODE.match(code):
            errors.add(V.INVALID_RIGHT, f"{raw!r} is not a right code", "rights", str(i))
        elif code not in catalogue:
            errors.add(V.INVALID_RIGHT, f"{code} is not in the rights catalogue", "rights", str(i))
        elif code not in codes:
            codes.append(code)
    return codes


@dataclass(slots=True, frozen=True)
class OrgContext:
    """What validation needs to know about the organisation, read once per use case or import."""

    org_id: int
    settings: OrganisationSettings
    p_numbers: frozenset[str]
    se_numbers: frozenset[str]
    today: dt.date
    right_codes: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, org: Organisation, settings: OrganisationSettings, today: dt.date, right_codes: frozenset[str]
    ) -> OrgContext:
        return cls(
            org.id, settings, frozenset(p.p_number for p in org.p_units),
            frozenset(s.se_number for s in org.se_numbers), today, right_codes,
        )


async def org_context(uow: UnitOfWork) -> OrgContext:
    return OrgContext.of(
        await uow.organisations.get(), await uow.organisations.get_settings(), uow.platform.now().date(),
        await uow.rights.codes(),
    )


def check_units(
    errors: Errors, ctx: OrgContext, p_number: str | None, se_number: str | None
) -> tuple[str | None, str | None]:
    """P-number / SE-number: well-formed and the organisation's own."""
    p = errors.check("pNumber", ids.normalise_p_number, p_number) if p_number else None
    se = errors.check("seNumber", ids.normalise_se_number, se_number) if se_number else None
    if p and p not in ctx.p_numbers:
        errors.add(V.UNKNOWN_P_NUMBER, "The P-number does not belong to the organisation", "pNumber")
    if se and se not in ctx.se_numbers:
        errors.add(V.UNKNOWN_SE_NUMBER, "The SE-number does not belong to the organisation", "seNumber")
    return p, se


def parse_moment(value: str, path: str, *, end_of_day: bool) -> dt.datetime:
    """An ISO date (a whole Danish day) or an ISO date-time with offset. Years 1 and 9999 are ISO
    dates too, but a moment near them may not exist in UTC (or the next day): OverflowError."""
    value = value.strip()
    try:
        if len(value) == 10:
            day = ids.parse_iso_date(value)
            if end_of_day:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), COPENHAGEN).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=COPENHAGEN)
        return moment.astimezone(dt.UTC)
    except OverflowError as exc:
        raise DomainError(ids.INVALID_DATE, "The date is out of range (years 1 to 9999)", [path]) from exc
    except (ValueError, ids.IdentifierError) as exc:
        raise DomainError(ids.INVALID_DATE, "Not an ISO 8601 date or date-time", [path]) from exc
