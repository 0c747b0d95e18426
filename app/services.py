"""The composition root's bundle: engine, platform, verifier, and factories for scoped access."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import TokenVerifier
from app.bulk_runner import BulkRunner
from app.config import Settings
from app.domain.bulk import BulkLimits, readable_size
from app.domain.errors import DomainError
from app.domain.model import User, UserStatus
from app.domain.principal import Actor
from app.domain.users import activate_user
from app.hub import NotificationHub
from app.observability import Metrics
from app.persistence.budgets import budget_store
from app.persistence.organisations import org_id_for_cvr
from app.persistence.reader import Reader
from app.persistence.tables import organisations
from app.persistence.uow import SqlUnitOfWork
from app.persistence.users import find_pending_activation, status_of_user
from app.platform import SystemPlatform
from app.schema.limits import Budgets, Limits


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    platform: SystemPlatform
    verifier: TokenVerifier
    _org_ids: dict[str, int] = field(default_factory=dict)
    bulk: BulkRunner = field(init=False)
    hub: NotificationHub = field(default_factory=NotificationHub)
    metrics: Metrics = field(default_factory=Metrics)
    limits: Limits = field(init=False)
    cost_budgets: Budgets = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.limits = Limits(
            max_depth=s.max_query_depth, max_aliases=s.max_query_aliases, max_tokens=s.max_query_tokens,
            max_cost=s.max_query_cost, budget_per_minute=s.cost_budget_per_minute, introspection=s.introspection,
            anonymous_budget_per_minute=s.anonymous_cost_budget_per_minute,
        )
        self.cost_budgets = budget_store(self.engine)
        self.bulk = BulkRunner(self, BulkLimits(max_bytes=s.import_max_bytes, max_rows=s.import_max_rows))

    async def org_id_for_cvr(self, cvr: str) -> int | None:
        # Organisations are never deleted, so a known CVR's id can be remembered.
        if cvr not in self._org_ids:
            async with self.engine.connect() as conn:
                org_id = await org_id_for_cvr(conn, cvr)
            if org_id is None:
                return None
            self._org_ids[cvr] = org_id
        return self._org_ids[cvr]

    async def person_may_act(self, org_id: int, user_id: uuid.UUID, reader: Reader | None = None) -> bool:
        """A token is only as good as its person: someone deleted, deactivated (during the period)
        or not of that organisation cannot act, even with an unexpired token. A read-only request
        asks on its own read connection (`reader`): one pool checkout per request, not two."""
        if reader is not None:
            status = await reader.user_status(user_id)
        else:
            async with self.engine.connect() as conn:
                status = await status_of_user(conn, org_id, user_id)
        return status is not None and status not in (UserStatus.DELETED, UserStatus.DEACTIVATED)

    def reader(self, org_id: int) -> Reader:
        return Reader(self.engine, org_id)

    def unit_of_work(self, actor: Actor) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, actor, self.platform, on_notifications=self._publish)

    def _publish(self, added: list[tuple[uuid.UUID, int]]) -> None:
        for recipient, notification_id in added:
            self.hub.publish(recipient, notification_id)

    async def activate(
        self, *, token: str | None, user_id: uuid.UUID | None, code: str | None
    ) -> User | None:
        """The first login. The person has no organisation context yet, so the pending user is
        found first (the one unscoped lookup) and the activation then runs scoped to its org."""
        if not token and not (user_id and code):
            return None
        async with self.engine.connect() as conn:
            found = await find_pending_activation(
                conn, token_hash=self.platform.hash_token(token) if token else None, user_id=user_id
            )
        if found is None:
            return None
        found_id, org_id = found
        async with self.engine.connect() as conn:
            cvr = (await conn.execute(select(organisations.c.cvr).where(organisations.c.id == org_id))).scalar_one()
        actor = Actor(org_id, cvr, found_id, frozenset())
        try:
            async with self.unit_of_work(actor) as uow:
                user = await activate_user(uow, found_id, token=token, code=None if token else code)
                await uow.commit()
        except DomainError:
            return None
        return user

    async def store_upload(self, upload: Any) -> StoredUpload:
        """Copy an uploaded file to the upload folder in chunks, refusing it past the size cap."""
        folder = Path(self.settings.upload_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.csv"
        size = 0
        limit = self.bulk.limits.max_bytes
        try:
            with path.open("wb") as out:
                while chunk := await upload.read(1024 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise DomainError("FILE_TOO_LARGE", f"The file is larger than {readable_size(limit)}", ["file"])
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if size == 0:
            path.unlink(missing_ok=True)
            raise DomainError("EMPTY_FILE", "The file is empty", ["file"])
        return StoredUpload(path, size, getattr(upload, "filename", None))


@dataclass(frozen=True)
class StoredUpload:
    path: Path
    size: int
    file_name: str | None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
