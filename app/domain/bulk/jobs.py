"""Bulk user operations from a CSV file, run as a job: all rows or none.

Rows are streamed and validated with the same rules as `createUser` / `updateUser`
(`app.domain.users.rules`); valid rows are written in batches inside the job's one transaction,
so a file with any bad row writes nothing (the caller rolls back) and reports every bad row."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from app.domain.activity.history import ActivityType, record
from app.domain.activity.model import Activity
from app.domain.bulk.model import BulkJob, BulkJobStatus, RowError
from app.domain.bulk_csv import (
    FIELD_TO_COLUMN,
    BulkOperation,
    CsvFileError,
    Row,
    read_rows,
    rights_list,
    width_error,
    yes_no,
)
from app.domain.common import identifiers as ids
from app.domain.common.errors import DomainError, ValidationFailed
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, OrgContext, org_context
from app.domain.notifications.delivery import notify_person
from app.domain.users.lifecycle import send_for_activation
from app.domain.users.model import User, UserInsert, UserStatus
from app.domain.users.rules import (
    NewUser,
    UserChanges,
    apply_user_changes,
    new_user_record,
    validate_new_user,
)

OpenFile = Callable[[], BinaryIO]
MAX_LISTED_AFFECTED = 10_000
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class BulkLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 200_000
    batch_size: int = 1000
    max_reported_errors: int = 10_000


class ImportFailed(Exception):
    """The file has bad rows (or cannot be read); nothing may be written."""

    def __init__(self, errors: list[RowError], error_count: int, total: int | None) -> None:
        super().__init__(f"{error_count} bad rows")
        self.errors = errors
        self.error_count = error_count
        self.total = total


def readable_size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def check_file_size(size: int, limits: BulkLimits) -> None:
    if size > limits.max_bytes:
        raise DomainError("FILE_TOO_LARGE", f"The file is larger than {readable_size(limits.max_bytes)}", ["file"])
    if size == 0:
        raise DomainError("EMPTY_FILE", "The file is empty", ["file"])


async def queue_import(
    uow: UnitOfWork, *, operation: BulkOperation, dry_run: bool, file_name: str | None, file_path: str, file_size: int,
    limits: BulkLimits,
) -> BulkJob:
    check_file_size(file_size, limits)
    assert uow.actor.user_id is not None
    job = BulkJob(
        id=uuid.uuid4(), org_id=uow.actor.org_id, created_by=uow.actor.user_id, operation=operation.value,
        dry_run=dry_run, status=BulkJobStatus.QUEUED, file_name=file_name, file_path=file_path,
        file_size=file_size, created_at=uow.platform.now(),
    )
    await uow.bulk_jobs.add(job)
    return job


class _Seen:
    """Values met earlier in the file (e-mails, CPR hashes, user ids) with the line of each. Earlier
    batches' values live in the job's store (`lines_seen` / `remember_lines`: a scratch table of the
    job's transaction), so memory does not grow with the file; within a batch, rows are checked one
    by one in file order, exactly as one dictionary over the whole file would."""

    def __init__(self, store: Any, kind: str) -> None:
        self._store = store
        self._kind = kind
        self._earlier: dict[str, int] = {}
        self._batch: dict[str, int] = {}

    async def start_batch(self, candidates: Iterable[Any]) -> None:
        self._earlier = await self._store.lines_seen(self._kind, [str(v) for v in candidates if v])
        self._batch = {}

    def line_of(self, value: Any) -> int | None:
        key = str(value)
        return self._batch.get(key) or self._earlier.get(key)

    def add(self, value: Any, line: int) -> None:
        self._batch[str(value)] = line

    async def end_batch(self) -> None:
        await self._store.remember_lines(self._kind, self._batch)
        self._earlier, self._batch = {}, {}


@dataclass
class _Run:
    """The state of one import while it streams through the file."""

    uow: UnitOfWork
    job: BulkJob
    ctx: OrgContext
    limits: BulkLimits
    progress: Progress
    total: int | None
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    processed: int = 0
    affected: list[uuid.UUID] = field(default_factory=list)  # the first MAX_LISTED_AFFECTED
    affected_count: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0})
    seen_emails: _Seen = field(init=False)
    seen_cprs: _Seen = field(init=False)
    seen_users: _Seen = field(init=False)

    def __post_init__(self) -> None:
        self.seen_emails = _Seen(self.uow.bulk_jobs, "email")
        self.seen_cprs = _Seen(self.uow.bulk_jobs, "cpr")
        self.seen_users = _Seen(self.uow.bulk_jobs, "user")

    @property
    def writing(self) -> bool:
        return self.error_count == 0 and not self.job.dry_run

    def fail(self, line: int | None, column: str | None, code: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.limits.max_reported_errors:
            self.errors.append(RowError(line, column, code, message))

    def fail_domain(self, line: int, errors: Errors) -> None:
        for e in errors.items:
            column = FIELD_TO_COLUMN.get(e.field[0]) if e.field else None
            self.fail(line, column, e.code, e.message)

    def note_affected(self, ids: Iterable[uuid.UUID]) -> None:
        """Count every affected user; list the first ones (the history names every one)."""
        for user_id in ids:
            self.affected_count += 1
            if len(self.affected) < MAX_LISTED_AFFECTED:
                self.affected.append(user_id)

    def advance(self, rows: int) -> None:
        self.processed += rows
        self.progress(self.processed, self.total)

    async def history(self, entries: list[tuple[ActivityType, User, str, dict[str, Any]]]) -> None:
        now = self.uow.platform.now()
        actor_name = await self.uow.actor_name()
        await self.uow.activities.add_many([
            Activity(
                org_id=self.uow.actor.org_id, occurred_at=now, actor_id=self.uow.actor.user_id,
                actor_name=actor_name, type=t.value, target_user_id=u.id,
                target_name=str(u.id) if u.anonymous else u.full_name, summary=summary,
                details={**details, "bulkJob": str(self.job.id)},
            )
            for t, u, summary, details in entries
        ])


def count_rows(open_file: OpenFile, limits: BulkLimits) -> int:
    with open_file() as f:
        return sum(1 for _ in read_rows(f, max_rows=limits.max_rows))


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def run_import(
    uow: UnitOfWork, job: BulkJob, open_file: OpenFile, limits: BulkLimits, progress: Progress
) -> dict[str, Any]:
    """Run the whole file inside `uow`'s transaction. Raises ImportFailed when any row is bad (the
    caller rolls back). Returns the result; for a dry run the caller rolls back too."""
    try:
        total = count_rows(open_file, limits)
    except CsvFileError as exc:
        raise ImportFailed([RowError(exc.line, None, exc.code.value, exc.message)], 1, None) from exc
    if total == 0:
        raise ImportFailed([RowError(None, None, "NO_ROWS", "The file has no data rows")], 1, 0)
    run = _Run(uow, job, await org_context(uow), limits, progress, total)
    progress(0, total)
    handler = {
        BulkOperation.CREATE: _create_batch, BulkOperation.UPDATE: _update_batch, BulkOperation.DELETE: _delete_batch,
    }[BulkOperation(job.operation)]
    try:
        with open_file() as f:
            for batch in _batches(read_rows(f, max_rows=limits.max_rows), limits.batch_size):
                await handler(run, batch)
                run.advance(len(batch))
    except CsvFileError as exc:
        run.fail(exc.line, None, exc.code.value, exc.message)
    if run.error_count:
        raise ImportFailed(run.errors, run.error_count, total)
    result = {**run.counts, "total": total, "affectedCount": run.affected_count,
              "affectedUserIds": [str(i) for i in run.affected]}
    if not job.dry_run:
        verb = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted"}[job.operation]
        await record(
            uow, ActivityType.BULK_IMPORT_COMPLETED,
            f"CSV import: {run.counts[verb]} users {verb}",
            details={"bulkJob": str(job.id), "operation": job.operation, "fileName": job.file_name, **run.counts},
        )
    return result


# --- CREATE ---------------------------------------------------------------------------------------


def _flags(run: _Run, row: Row) -> tuple[bool | None, bool | None, bool | None, bool | None]:
    """The row's Ja/Nej cells (Anonym, Privat MitID, Underskrift, Segldannelse); bad ones are
    reported on the run."""
    errors: list[RowError] = []
    values = tuple(yes_no(row, c, errors) for c in ("Anonym", "Privat MitID", "Underskrift", "Segldannelse"))
    for e in errors:
        run.fail(e.line, e.column, e.code, e.message)
    return values  # type: ignore[return-value]


def _new_user_from_row(run: _Run, row: Row) -> NewUser | None:
    before = run.error_count
    if row.get("Bruger-UUID"):
        run.fail(row.line, "Bruger-UUID", "MUST_BE_EMPTY", "Leave Bruger-UUID empty when creating users")
    birth = None
    if row.get("Fødselsdato"):
        try:
            birth = ids.parse_danish_date(row.get("Fødselsdato") or "").isoformat()
        except ids.IdentifierError as exc:
            run.fail(row.line, "Fødselsdato", exc.code, "Write the date of birth as DD-MM-YYYY")
    anonymous, private, sign, seal = _flags(run, row)
    if run.error_count > before:
        return None
    return NewUser(
        first_name=row.get("Fornavn") or "", last_name=row.get("Efternavn") or "", email=row.get("E-mail") or "",
        phone=row.get("Telefonnummer"), cpr=row.get("CPR-nummer"), date_of_birth=birth, anonymous=bool(anonymous),
        authenticators=["PRIVATE_MITID"] if private else [], p_number=row.get("P-nummer"),
        se_number=row.get("SE-nummer"), rights=rights_list(row) or [], can_sign=bool(sign),
        can_create_seal=bool(seal), reference=row.get("Reference"),
    )


async def _create_batch(run: _Run, rows: list[Row]) -> None:
    platform = run.uow.platform
    checked: list[tuple[int, Any, str | None, str]] = []
    for row in rows:
        if (err := width_error(row)) is not None:
            run.fail(err.line, err.column, err.code, err.message)
            continue
        data = _new_user_from_row(run, row)
        if data is None:
            continue
        errors = Errors()
        v = validate_new_user(data, run.ctx, errors)
        if v is None:
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


# --- UPDATE and DELETE: identify each row's user ----------------------------------------------------


@dataclass(slots=True)
class _Key:
    line: int
    user_id: uuid.UUID | None
    cpr_hash: str | None
    email: str | None
    row: Row


def _identify(run: _Run, row: Row) -> _Key | None:
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


async def _resolve(run: _Run, rows: list[Row], *, email_may_change: bool) -> list[tuple[_Key, User]]:
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


async def _update_batch(run: _Run, rows: list[Row]) -> None:
    found = await _resolve(run, rows, email_may_change=True)
    user_ids = [u.id for _, u in found]
    authenticators = await run.uow.users.authenticators_of(user_ids)
    rights = await run.uow.users.rights_of(user_ids)
    changed: list[tuple[User, Any]] = []
    new_emails: dict[str, tuple[int, uuid.UUID]] = {}
    for key, user in found:
        row = key.row
        before = run.error_count
        anonymous, private, sign, seal = _flags(run, row)
        bad_flags = run.error_count > before  # the other cells are still checked and reported
        if anonymous is not None and anonymous != user.anonymous:
            run.fail(row.line, "Anonym", "ANONYMITY_FIXED", "Anonymity is set only when a user is created")
        if row.get("Fødselsdato"):
            run.fail(row.line, "Fødselsdato", "NOT_EDITABLE", "The date of birth cannot be changed")
        if bad_flags:
            continue
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
        if errors.items:
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
        details = dict(applied.fields)
        if applied.authenticators is not None:
            details["authenticators"] = {"to": sorted(applied.authenticators)}
        if applied.rights is not None:
            details["rights"] = {"to": sorted(applied.rights)}
        entries.append((ActivityType.USER_UPDATED, user, "Changed by CSV import: " + ", ".join(sorted(details)), details))
    await run.history(entries)
    run.note_affected(u.id for u, _ in changed)


async def _delete_batch(run: _Run, rows: list[Row]) -> None:
    found = await _resolve(run, rows, email_may_change=False)
    deleted: list[User] = []
    now = run.uow.platform.now()
    for key, user in found:
        if user.id == run.uow.actor.user_id:
            run.fail(key.line, None, "CANNOT_DELETE_SELF", "You cannot delete yourself")
            continue
        user.status = UserStatus.DELETED
        user.deleted_at = now
        user.deactivated_from = user.deactivated_until = None
        deleted.append(user)
    run.counts["deleted"] += len(deleted)
    if not run.writing or not deleted:
        return
    await run.uow.users.save_many(deleted)
    await run.history([(ActivityType.USER_DELETED, u, "User deleted by CSV import", {}) for u in deleted])
    run.note_affected(u.id for u in deleted)


# --- the job's end ---------------------------------------------------------------------------------


async def finish_job(
    uow: UnitOfWork, job: BulkJob, *, result: dict[str, Any] | None, failure: ImportFailed | None
) -> BulkJob:
    """Record the outcome and tell the administrator who started the job."""
    now = uow.platform.now()
    job.finished_at = now
    if failure is None:
        job.status = BulkJobStatus.SUCCEEDED
        job.result = result
        job.processed = job.total = (result or {}).get("total", job.total)
        title = "CSV import checked" if job.dry_run else "CSV import completed"
        body = f"The file {job.file_name or ''} has {job.total} valid rows." if job.dry_run else (
            f"The import of {job.file_name or 'your file'} is complete: "
            + ", ".join(f"{v} {k}" for k, v in (result or {}).items() if k in ("created", "updated", "deleted") and v)
        )
    else:
        job.status = BulkJobStatus.FAILED
        job.row_errors = failure.errors
        job.error_count = failure.error_count
        job.total = failure.total
        job.processed = failure.total or 0  # every row was read and checked
        title = "CSV import failed"
        body = f"The file {job.file_name or ''} was not imported: {failure.error_count} errors. Nothing was changed."
    await uow.bulk_jobs.save(job)
    await notify_person(uow, job.created_by, "BULK_JOB_FINISHED", title, body)
    return job


# --- sending imported users for activation ----------------------------------------------------------


@dataclass(slots=True)
class SentForActivation:
    sent: list[User]
    codes: list[tuple[User, str]]
    needs_individual_sending: list[User]


async def send_users_for_activation(
    uow: UnitOfWork, user_ids: list[uuid.UUID] | None, all_imported: bool
) -> SentForActivation:
    """Named users: CPR users are emailed, date-of-birth users get a code each (returned once).
    `all_imported`: every imported-not-sent CPR user; date-of-birth users must be sent one by one."""
    if (user_ids is None) == (not all_imported):
        raise DomainError("USER_IDS_OR_ALL_IMPORTED", "Give either userIds or allImported: true", ["userIds"])
    outcome = SentForActivation([], [], [])
    if all_imported:
        candidates = await uow.users.ids_in_status(UserStatus.CREATED)
    else:
        candidates = list(dict.fromkeys(user_ids or []))
    users, _, _ = await uow.users.find_many(candidates, [], [])
    problems = []
    for i, user_id in enumerate(candidates):
        user = users.get(user_id)
        if user is None:
            problems.append(DomainError("NOT_FOUND", "User not found", ["userIds", str(i)]))
        elif user.status not in (UserStatus.CREATED, UserStatus.PENDING_ACTIVATION):
            problems.append(DomainError("INVALID_STATUS", "The user has already been activated", ["userIds", str(i)]))
    if problems:
        raise ValidationFailed(problems)
    for user_id in candidates:
        user = users[user_id]
        if all_imported and user.identification.value == "DATE_OF_BIRTH":
            outcome.needs_individual_sending.append(user)
            continue
        code = await send_for_activation(uow, user)
        outcome.sent.append(user)
        if code is not None:
            outcome.codes.append((user, code))
    return outcome
