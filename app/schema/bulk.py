"""CSV imports as jobs, and sending imported users for activation."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from pathlib import Path

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from app.adapters.uploads import store_upload
from app.domain.bulk import jobs as uc
from app.domain.bulk.csv_file import BulkOperation as DomainOperation
from app.domain.bulk.model import BulkJob as DomainJob
from app.domain.bulk.model import RowError as DomainRowError
from app.domain.common.errors import DomainError
from app.domain.common.policy import Action, is_allowed
from app.persistence import bulk as bulk_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import (
    MAX_PAGE,
    Node,
    UserError,
    bad_input,
    in_unit_of_work,
    page_size,
    requires,
    to_global_id,
    user_errors,
    uuid_of,
)
from app.schema.runtime.context import Context
from app.schema.users.types import User, load_user

BulkOperation = strawberry.enum(DomainOperation, name="BulkOperation")


@strawberry.enum
class BulkJobStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum(description="How the uploaded file was read")
class FileEncoding(enum.Enum):
    UTF_8 = "UTF-8"
    WINDOWS_1252 = "WINDOWS-1252"


@strawberry.type
class BulkProgress:
    processed: int
    total: int | None


@strawberry.type
class RowError:
    line: int | None = strawberry.field(description="1 is the header row")
    column: str | None
    code: str
    message: str


@strawberry.type
class BulkJobResult:
    created: int
    updated: int
    deleted: int
    unchanged: int
    total: int
    dry_run: bool
    encoding: FileEncoding = strawberry.field(
        description="UTF-8 (BOM optional), or WINDOWS-1252 when the file was not UTF-8 "
        "(what 'CSV (semicolon separated)' saves)"
    )
    _affected: strawberry.Private[list[str]]
    _affected_count: strawberry.Private[int]

    @strawberry.field(description="The users the job created, changed or deleted (the first 10,000)")
    async def affected_users(self, info: Info, first: int = 100, offset: int = 0) -> list[User]:
        ids = [uuid.UUID(i) for i in self._affected[offset : offset + min(max(first, 0), 500)]]
        users = [await load_user(info, i) for i in ids]
        return [u for u in users if u is not None]

    @strawberry.field
    def affected_user_count(self) -> int:
        return self._affected_count


@strawberry.type(name="BulkJob")
class BulkJobNode(Node):
    id: strawberry.ID
    operation: BulkOperation
    dry_run: bool
    status: BulkJobStatus
    file_name: str | None
    progress: BulkProgress
    error_count: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    result: BulkJobResult | None
    _errors: strawberry.Private[list[DomainRowError]]

    @strawberry.field(
        description=f"The bad rows (line, column, code, message), `first` (at most {MAX_PAGE}) from `offset`; "
        "`errorCount` says how many there are. Nothing was written."
    )
    def row_errors(self, first: int | None = MAX_PAGE, offset: int = 0) -> list[RowError]:
        # A page, as every list: a file of 200,000 bad rows was one 33 MB response.
        if offset < 0:
            raise bad_input("`offset` must not be negative", "offset")
        return [RowError(line=e.line, column=e.column, code=e.code, message=e.message)
                for e in self._errors[offset : offset + page_size(first)]]

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> BulkJobNode | None:
        """node(id:): as `bulkJob(id:)`, user administrators only."""
        principal = info.context.principal
        if principal is None or not is_allowed(principal.roles, Action.VIEW_BULK_JOBS):
            return None
        return await load_bulk_job(info, uuid_of(id, "BulkJob"))

    @classmethod
    def of(cls, job: DomainJob, info: Info) -> BulkJobNode:
        ctx: Context = info.context
        processed, total = ctx.services.bulk.progress.get(job.id, (job.processed, job.total))
        r = job.result
        result = None
        if r is not None:
            result = BulkJobResult(
                created=r.get("created", 0), updated=r.get("updated", 0), deleted=r.get("deleted", 0),
                unchanged=r.get("unchanged", 0), total=r.get("total", 0), dry_run=job.dry_run,
                encoding=FileEncoding(r.get("encoding", "UTF-8")),  # jobs before the fallback read UTF-8 only
                _affected=list(r.get("affectedUserIds", [])),
                _affected_count=int(r.get("affectedCount", len(r.get("affectedUserIds", [])))),
            )
        return cls(
            id=to_global_id("BulkJob", job.id), operation=DomainOperation(job.operation), dry_run=job.dry_run,
            status=BulkJobStatus(job.status.value), file_name=job.file_name,
            progress=BulkProgress(processed=processed, total=total), error_count=job.error_count,
            created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, result=result,
            _errors=job.row_errors,
        )


async def load_bulk_job(info: Info, job_id: uuid.UUID | None) -> BulkJobNode | None:
    if job_id is None:
        return None
    job = await info.context.reader.run(bulk_sql.job_by_id, job_id)
    return BulkJobNode.of(job, info) if job else None


@strawberry.input
class ImportUsersInput:
    file: Upload
    operation: BulkOperation
    dry_run: bool = False


@strawberry.type
class ImportUsersPayload:
    job: BulkJobNode | None
    user_errors: list[UserError]


@strawberry.input(description="Exactly one of `userIds`, `allImported: true` and `jobId` (SELECTOR_REQUIRED, "
                  "MORE_THAN_ONE_SELECTOR).")
class SendUsersForActivationInput:
    user_ids: list[strawberry.ID] | None = None
    all_imported: bool = strawberry.field(default=False, description="Every imported CPR user not yet sent")
    job_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The imported CPR users of this CREATE job not yet sent (NOT_FOUND, JOB_NOT_FINISHED, "
        "JOB_CREATED_NO_USERS)",
    )


@strawberry.type
class ActivationCode:
    user: User | None
    temporary_activation_code: str


@strawberry.type
class SendUsersForActivationPayload:
    sent: list[User]
    codes: list[ActivationCode]
    needs_individual_sending: list[User] = strawberry.field(
        description="Date-of-birth users: send them one by one (each gets a code)"
    )
    user_errors: list[UserError]


@strawberry.type
class BulkQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_BULK_JOBS))
    async def bulk_job(self, info: Info, id: strawberry.ID) -> BulkJobNode | None:
        return await load_bulk_job(info, uuid_of(id, "BulkJob"))


@strawberry.type
class BulkMutations:
    @strawberry.mutation(
        permission_classes=requires(Action.IMPORT_USERS),
        description="Upload a CSV (GraphQL multipart request); the job runs in the background.",
    )
    async def import_users(self, info: Info, input: ImportUsersInput) -> ImportUsersPayload:
        ctx: Context = info.context
        services = ctx.services
        try:
            stored = await store_upload(Path(services.settings.upload_dir), input.file, services.bulk.limits.max_bytes)
        except DomainError as exc:
            return ImportUsersPayload(job=None, user_errors=user_errors(exc))
        job, errors = await in_unit_of_work(
            info,
            lambda uow: uc.queue_import(
                uow, operation=DomainOperation(input.operation.value), dry_run=input.dry_run,
                file_name=stored.file_name, file_path=str(stored.path), file_size=stored.size,
                limits=services.bulk.limits,
            ),
        )
        if job is None:
            stored.discard()
            return ImportUsersPayload(job=None, user_errors=errors)
        services.bulk.wake()
        return ImportUsersPayload(job=BulkJobNode.of(job, info), user_errors=[])

    @strawberry.mutation(permission_classes=requires(Action.SEND_ACTIVATION))
    async def send_users_for_activation(
        self, info: Info, input: SendUsersForActivationInput
    ) -> SendUsersForActivationPayload:
        ids = None
        if input.user_ids is not None:
            # Ids of other types or organisations behave as missing users.
            ids = [uuid_of(raw, "User") or uuid.UUID(int=0) for raw in input.user_ids]
        job_id = None
        if input.job_id is not None:
            job_id = uuid_of(input.job_id, "BulkJob") or uuid.UUID(int=0)  # as a missing job
        outcome, errors = await in_unit_of_work(
            info, lambda uow: uc.send_users_for_activation(uow, ids, input.all_imported, job_id)
        )
        if outcome is None:
            return SendUsersForActivationPayload(sent=[], codes=[], needs_individual_sending=[], user_errors=errors)
        return SendUsersForActivationPayload(
            sent=[User.of(u, info) for u in outcome.sent],
            codes=[ActivationCode(user=User.of(u, info), temporary_activation_code=c) for u, c in outcome.codes],
            needs_individual_sending=[User.of(u, info) for u in outcome.needs_individual_sending],
            user_errors=[],
        )


AREA = Area(queries=(BulkQueries,), mutations=(BulkMutations,), types=(BulkJobNode,))
