"""The rules of a request for a user account that need no database: what the public form may
carry, how long a confirmation link lives, and how often the form may be sent."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from app.domain.common import identifiers as ids
from app.domain.common.validation import CONTROL_CHARACTERS, INVALID_CHARACTERS, Errors, optional
from app.domain.users.rules import valid_name

CONFIRMATION_VALIDITY = dt.timedelta(hours=24)
# A well-formed form is answered no sooner than this after it arrived, whatever was found: storing a
# request and queueing its mail took 15-50 ms more than finding no organisation (measured in-process on
# SQLite and PostgreSQL), enough to tell a CVR that takes requests from one that does not.
ANSWER_FLOOR_SECONDS = 0.2
MESSAGE_MAX = 1000
REASON_MAX = 500


class AccountRequestErrorCode(enum.StrEnum):
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_DECIDED = "ALREADY_DECIDED"
    INVALID_CONFIRMATION = "INVALID_CONFIRMATION"


E = AccountRequestErrorCode


# The public form's budgets, each a number of requests per minute (a token bucket: that many at
# once, refilled over a minute), per client address (an office behind one NAT address shares it),
# per e-mail address and per CVR number. Only one open request per e-mail address and organisation
# is mailed at a time, so an address cannot be flooded with confirmation mail either.
RATE_LIMITS: tuple[tuple[str, int], ...] = (("ip", 20), ("email", 3), ("cvr", 30))


@dataclass(slots=True)
class RequestForm:
    cvr: str
    first_name: str
    last_name: str
    email: str
    message: str | None = None


@dataclass(slots=True, frozen=True)
class ValidRequest:
    cvr: str
    first_name: str
    last_name: str
    email: str
    message: str | None


def free_text(errors: Errors, path: str, value: str | None, max_length: int) -> str | None:
    """Optional text of a few lines: trimmed, at most `max_length`, no control characters but line
    breaks (Windows line ends become one): escapes reach terminals, NULs break PostgreSQL's text."""
    text = optional(value.replace("\r\n", "\n") if value is not None else None)
    if text is None:
        return None
    if len(text) > max_length:
        errors.add(E.TOO_LONG, f"At most {max_length} characters", path)
    if CONTROL_CHARACTERS.search(text.replace("\n", "")) is not None:
        errors.add(INVALID_CHARACTERS, "Tabs and control characters are not allowed", path)
    return text


def validate_request(form: RequestForm) -> ValidRequest:
    """Every field error of the form at once (ValidationFailed). A well-formed CVR says nothing of
    whether an organisation has it: that is never checked here."""
    errors = Errors()
    cvr = errors.check("cvr", ids.normalise_cvr, form.cvr or "")
    first = valid_name(errors, "firstName", form.first_name)
    last = valid_name(errors, "lastName", form.last_name)
    email = errors.check("email", ids.normalise_email, form.email or "")
    message = free_text(errors, "message", form.message, MESSAGE_MAX)
    errors.raise_if_any()
    assert cvr is not None and email is not None
    return ValidRequest(cvr=cvr, first_name=first, last_name=last, email=email, message=message)


def rate_limit_keys(client: str | None, form: RequestForm) -> list[tuple[str, int]]:
    """The budget keys a request is charged to, with their rates: the client address always, the
    e-mail address and CVR as given (lower-cased, trimmed; malformed ones are charged too)."""
    keys = [(f"account-request:ip:{client or 'unknown'}", RATE_LIMITS[0][1])]
    email = (form.email or "").strip().lower()[:254]
    cvr = (form.cvr or "").strip()[:16]
    if email:
        keys.append((f"account-request:email:{email}", RATE_LIMITS[1][1]))
    if cvr:
        keys.append((f"account-request:cvr:{cvr}", RATE_LIMITS[2][1]))
    return keys
