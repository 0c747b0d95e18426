"""UPDATE and DELETE: each row names an existing user by at least two identifiers, which must all
point to the same live user of the organisation; changes are validated as `updateUser` does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from app.domain.activity.history import ActivityType
from app.domain.bulk.create_rows import flags
from app.domain.bulk.csv_file import Row, rights_list, width_error
from app.domain.bulk.run import ImportRun
from app.domain.certificates.changes import withdraw_certificates_of
from app.domain.common import identifiers as ids
from app.domain.common.principal import Role
from app.domain.common.validation import Errors
from app.domain.users.model import User, UserStatus
from app.domain.users.rules import UserChanges, apply_user_changes


@dataclass(slots=True)
class _Key:
    line: int
    user_id: uuid.UUID | None
    cpr_hash: str | None
    email: str | None
    row: Row


def _identify(run: ImportRun, row: Row) -> _Key | None:
    raw_id, raw_cpr, raw_email = row.get("Bruger-UUID"), row.get("CPR-nummer"), row.get("E-mail")
    if sum(v is not None for v in (raw_id, raw_cpr, raw_email)) < 2:
        run.fail(row.line, None, "IDENTIFICATION_REQUIRED",
                 "Fill at least two of Bruger-UUID, CPR-nummer and E-mail to identify the user")
        return None
    key = _Key(row.line, None, None, None, row)
    before = run.error_count
    if raw_id is not None:
        try:
            key.user_id = uuid.UUID(raw_id)
        except ValueError:
            run.fail(row.line, "Bruger-UUID", "INVALID_UUID", "Bruger-UUID is not a UUID")
    if raw_cpr is not None:
        try:
            key.cpr_hash = run.uow.platform.hash_cpr(ids.parse_cpr(raw_cpr)[0])
        except ids.IdentifierError as exc:
            run.fail(row.line, "CPR-nummer", exc.code, exc.message)
    if raw_email is not None:
        try:
            key.email = ids.normalise_email(raw_email).lower()
        except ids.IdentifierError as exc:
            run.fail(row.line, "E-mail", exc.code, exc.message)
    return key if run.error_count == before else None


async def _resolve(run: ImportRun, rows: list[Row], *, email_may_change: bool) -> list[tuple[_Key, User]]:
    """Each row's identifiers must all point to the same live user of the organisation. With
    `email_may_change`, a row identified by UUID and CPR may carry a new email instead."""
    keys = []
    for row in rows:
        if (err := width_error(row)) is not None:
            run.fail(err.line, err.column, err.code, err.message)
        elif (key := _identify(run, row)) is not None:
            keys.append(key)
    by_id, by_cpr, by_email = await run.uow.users.find_many(
        [k.user_id for k in keys if k.user_id], [k.cpr_hash for k in keys if k.cpr_hash],
        [k.email for k in keys if k.email],
    )
    resolved: list[tuple[_Key, User]] = []
    found: list[tuple[_Key, User]] = []
    for k in keys:
        matches: list[tuple[str, User | None]] = []
        if k.user_id:
            matches.append(("Bruger-UUID", by_id.get(k.user_id)))
        if k.cpr_hash:
            matches.append(("CPR-nummer", by_cpr.get(k.cpr_hash)))
        if k.email and not (email_may_change and k.user_id and k.cpr_hash):
            matches.append(("E-mail", by_email.get(k.email)))
        missing = next((col for col, u in matches if u is None), None)
        if missing is not None:
            run.fail(k.line, missing, "NOT_FOUND", f"No user of your organisation has this {missing}")
            continue
        users = {u.id: u for _, u in matches if u is not None}
        if len(users) != 1:
            run.fail(k.line, None, "IDENTIFIERS_MISMATCH", "The identifiers on this line belong to different users")
            continue
        user = next(iter(users.values()))
        resolved.append((k, user))
    await run.seen_users.start_batch(user.id for _, user in resolved)
    for k, user in resolved:
        if (first := run.seen_users.line_of(user.id)) is not None:
            run.fail(k.line, None, "DUPLICATE_ROW", f"The same user is also on line {first}")
            continue
        run.seen_users.add(user.id, k.line)
        found.append((k, user))
    await run.seen_users.end_batch()
    return found


async def update_batch(run: ImportRun, rows: list[Row]) -> None:
    found = await _resolve(run, rows, email_may_change=True)
    user_ids = [u.id for _, u in found]
    authenticators = await run.uow.users.authenticators_of(user_ids)
    rights = await run.uow.users.rights_of(user_ids)
    changed: list[tuple[User, Any]] = []
    new_emails: dict[str, tuple[int, uuid.UUID]] = {}
    for key, user in found:
        row = key.row
        before = run.error_count
        anonymous, private, sign, seal = flags(run, row)
        bad_flags = run.error_count > before  # the other cells are still checked and reported below
        if anonymous is not None and anonymous != user.anonymous:
            run.fail(row.line, "Anonym", "ANONYMITY_FIXED", "Anonymity is set only when a user is created")
        if row.get("Fødselsdato"):
            run.fail(row.line, "Fødselsdato", "NOT_EDITABLE", "The date of birth cannot be changed")
        old_email = user.email.lower()
        # The email is a change only when UUID and CPR identify the user; otherwise it identified them.
        new_email = row.get("E-mail") if key.user_id and key.cpr_hash else None
        changes = UserChanges(
            first_name=row.get("Fornavn"), last_name=row.get("Efternavn"), email=new_email,
            phone=row.get("Telefonnummer"), reference=row.get("Reference"), p_number=row.get("P-nummer"),
            se_number=row.get("SE-nummer"), private_mitid=private, rights=rights_list(row), can_sign=sign,
            can_create_seal=seal,
        )
        errors = Errors()
        applied = apply_user_changes(user, authenticators.get(user.id, []), rights.get(user.id, []), changes,
                                     run.ctx, errors)
        if errors.items or bad_flags:
            run.fail_domain(row.line, errors)
            continue
        if user.email.lower() != old_email:
            email = user.email.lower()
            if email in new_emails:
                run.fail(row.line, "E-mail", "DUPLICATE_EMAIL", "Another line gives the same new email")
                continue
            new_emails[email] = (row.line, user.id)
        if applied:
            changed.append((user, applied))
        else:
            run.counts["unchanged"] += 1
    # New e-mails given on lines of earlier batches (the job's store holds those).
    await run.seen_emails.start_batch(new_emails)
    for email, (line, user_id) in list(new_emails.items()):
        if run.seen_emails.line_of(email) is not None:
            run.fail(line, "E-mail", "DUPLICATE_EMAIL", "Another line gives the same new email")
            changed = [(u, a) for u, a in changed if u.id != user_id]
            del new_emails[email]
    taken = await run.uow.users.existing_emails(list(new_emails))
    for email, (line, user_id) in new_emails.items():
        run.seen_emails.add(email, line)
        if email in taken and taken[email] != user_id:
            run.fail(line, "E-mail", "DUPLICATE_EMAIL", "Another user already has this email address")
    await run.seen_emails.end_batch()
    run.counts["updated"] += len(changed)
    if not run.writing or not changed:
        return
    now = run.uow.platform.now()
    await run.uow.users.save_many([u for u, _ in changed])
    await run.uow.users.replace_authenticators_many(
        {u.id: a.authenticators for u, a in changed if a.authenticators is not None}, now
    )
    await run.uow.users.replace_rights_many({u.id: a.rights for u, a in changed if a.rights is not None})
    entries = []
    for user, applied in changed:
        details = applied.history_details()
        entries.append((ActivityType.USER_UPDATED, user, "Changed by CSV import: " + ", ".join(sorted(details)), details))
    await run.history(entries)
    run.note_affected(u.id for u, _ in changed)


async def delete_batch(run: ImportRun, rows: list[Row]) -> None:
    await run.uow.roles.lock_role_changes()  # before the rows' locks, the order the role use cases keep
    found = await _resolve(run, rows, email_may_change=False)
    deleted: list[User] = []
    now = run.uow.platform.now()
    administrators = await run.uow.roles.active_holders(Role.ORGANISATION_ADMINISTRATOR)
    administrators_left = len(administrators)
    for key, user in found:
        if user.id == run.uow.actor.user_id:
            run.fail(key.line, None, "CANNOT_DELETE_SELF", "You cannot delete yourself")
            continue
        if user.id in administrators:
            if administrators_left <= 1:
                run.fail(key.line, None, "LAST_ORGANISATION_ADMINISTRATOR",
                         "The organisation must keep an active organisation administrator")
                continue
            administrators_left -= 1
        user.status = UserStatus.DELETED
        user.deleted_at = now
        user.deactivated_from = user.deactivated_until = None
        deleted.append(user)
    run.counts["deleted"] += len(deleted)
    if not run.writing or not deleted:
        return
    await run.uow.users.save_many(deleted)
    await run.history([(ActivityType.USER_DELETED, u, "User deleted by CSV import", {}) for u in deleted])
    await withdraw_certificates_of(run.uow, run.ca, deleted)
    run.note_affected(u.id for u in deleted)
