"""CREATE: each row is a new user, validated with the same rules as `createUser`
(`app.domain.users.rules`), checked for duplicates in the file and in the organisation, and inserted
in batches."""

from __future__ import annotations

from typing import Any

from app.domain.activity.history import ActivityType
from app.domain.bulk.csv_file import Row, birth_date, rights_list, width_error, yes_no
from app.domain.bulk.model import RowError
from app.domain.bulk.run import ImportRun
from app.domain.common import identifiers as ids
from app.domain.common.validation import Errors
from app.domain.users.model import UserInsert
from app.domain.users.rules import NewUser, new_user_record, validate_new_user


def flags(run: ImportRun, row: Row) -> tuple[bool | None, bool | None, bool | None, bool | None]:
    """The row's Ja/Nej cells (Anonym, Privat MitID, Underskrift, Segldannelse); bad ones are
    reported on the run."""
    errors: list[RowError] = []
    values = tuple(yes_no(row, c, errors) for c in ("Anonym", "Privat MitID", "Underskrift", "Segldannelse"))
    for e in errors:
        run.fail(e.line, e.column, e.code, e.message)
    return values  # type: ignore[return-value]


def _new_user_from_row(run: ImportRun, row: Row) -> tuple[NewUser, bool]:
    """The row as `createUser`'s input, and whether its own cells were bad. Every cell is checked
    whatever the others hold, so a row reports all its errors at once."""
    before = run.error_count
    if row.get("Bruger-UUID"):
        run.fail(row.line, "Bruger-UUID", "MUST_BE_EMPTY", "Leave Bruger-UUID empty when creating users")
    birth = row.get("Fødselsdato")
    if birth is not None:
        try:
            birth = birth_date(birth).isoformat()
        except ids.IdentifierError:
            run.fail(row.line, "Fødselsdato", ids.INVALID_DATE,
                     f"Write the date of birth as DD-MM-YYYY or YYYY-MM-DD; '{birth}' is not a date")
            birth = _GIVEN_BUT_BAD_DATE  # still "given": the CPR-or-date rule sees the cell as filled
    anonymous, private, sign, seal = flags(run, row)
    return NewUser(
        first_name=row.get("Fornavn") or "", last_name=row.get("Efternavn") or "", email=row.get("E-mail") or "",
        phone=row.get("Telefonnummer"), cpr=row.get("CPR-nummer"), date_of_birth=birth, anonymous=bool(anonymous),
        authenticators=["PRIVATE_MITID"] if private else [], p_number=row.get("P-nummer"),
        se_number=row.get("SE-nummer"), rights=rights_list(row) or [], can_sign=bool(sign),
        can_create_seal=bool(seal), reference=row.get("Reference"),
    ), run.error_count > before


# Stands in for a date cell already reported as bad, so no second error is made for it.
_GIVEN_BUT_BAD_DATE = "1970-01-01"


async def create_batch(run: ImportRun, rows: list[Row]) -> None:
    platform = run.uow.platform
    checked: list[tuple[int, Any, str | None, str]] = []
    for row in rows:
        if (err := width_error(row)) is not None:
            run.fail(err.line, err.column, err.code, err.message)
            continue
        data, bad_cells = _new_user_from_row(run, row)
        errors = Errors()
        v = validate_new_user(data, run.ctx, errors)
        if v is None or bad_cells:
            run.fail_domain(row.line, errors)
            continue
        checked.append((row.line, v, platform.hash_cpr(v.cpr10) if v.cpr10 else None, v.email.lower()))
    # Duplicates inside the file, in file order: earlier batches' values come from the job's store.
    await run.seen_emails.start_batch(email for _, _, _, email in checked)
    await run.seen_cprs.start_batch(cpr_hash for _, _, cpr_hash, _ in checked)
    valid: list[tuple[int, Any, str | None]] = []
    for line, v, cpr_hash, email in checked:
        if (first := run.seen_emails.line_of(email)) is not None:
            run.fail(line, "E-mail", "DUPLICATE_EMAIL", f"The email is also on line {first}")
            continue
        if cpr_hash and (first := run.seen_cprs.line_of(cpr_hash)) is not None:
            run.fail(line, "CPR-nummer", "DUPLICATE_CPR", f"The CPR number is also on line {first}")
            continue
        run.seen_emails.add(email, line)
        if cpr_hash:
            run.seen_cprs.add(cpr_hash, line)
        valid.append((line, v, cpr_hash))
    await run.seen_emails.end_batch()
    await run.seen_cprs.end_batch()
    taken_emails = await run.uow.users.existing_emails([v.email.lower() for _, v, _ in valid])
    taken_cprs = await run.uow.users.existing_cpr_hashes([h for _, _, h in valid if h])
    inserts: list[UserInsert] = []
    now = platform.now()
    for line, v, cpr_hash in valid:
        if v.email.lower() in taken_emails:
            run.fail(line, "E-mail", "DUPLICATE_EMAIL", "Another user already has this email address")
        elif cpr_hash and cpr_hash in taken_cprs:
            run.fail(line, "CPR-nummer", "DUPLICATE_CPR", "Another user already has this CPR number")
        elif run.writing:
            user = new_user_record(v, run.uow.actor.org_id, now)
            inserts.append(UserInsert(
                user, cpr_hash, platform.encrypt_cpr(v.cpr10) if v.cpr10 else None, v.authenticators, v.rights
            ))
    run.counts["created"] += len(valid)
    if run.writing and inserts:
        await run.uow.users.add_many(inserts)
        await run.history([
            (ActivityType.USER_CREATED, i.user, f"User created by CSV import ({i.user.identification.value})",
             {"authenticators": i.authenticators, "rights": i.rights, "anonymous": i.user.anonymous})
            for i in inserts
        ])
        run.note_affected(i.user.id for i in inserts)
