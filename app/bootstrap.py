"""The composition root: builds the container every entrypoint shares. Wiring only, no logic."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.adapters.actors import Actors
from app.adapters.crypto import SystemPlatform
from app.adapters.hub import NotificationHub
from app.adapters.jobs import JobBoard
from app.adapters.jwt import TokenVerifier
from app.adapters.pki_hierarchy import RootSource, RootUnavailable
from app.config import Settings, UnsafeSettings, refuse_unsafe
from app.domain.bulk.jobs import BulkLimits
from app.domain.common.principal import Actor
from app.observability import Metrics
from app.persistence.budgets import budget_store
from app.persistence.db import make_engine
from app.persistence.read_session import ReadSession
from app.persistence.uow import SqlUnitOfWork
from app.schema import schema
from app.schema.runtime.limits import Budgets, Limits
from app.schema.runtime.persisted import PersistedDocuments, load_manifest

CONSOLE_MANIFEST = "persisted-documents.json"


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    platform: SystemPlatform
    verifier: TokenVerifier
    actors: Actors
    bulk: JobBoard
    limits: Limits
    cost_budgets: Budgets
    persisted: PersistedDocuments
    hub: NotificationHub = field(default_factory=NotificationHub)
    metrics: Metrics = field(default_factory=Metrics)

    def reader(self, org_id: int) -> ReadSession:
        return ReadSession(self.engine, org_id)

    def unit_of_work(self, actor: Actor) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, actor, self.platform, on_notifications=self._publish)

    def _publish(self, added: list[tuple[uuid.UUID, int]]) -> None:
        for recipient, notification_id in added:
            self.hub.publish(recipient, notification_id)


def refuse_unopenable_root(settings: Settings) -> None:
    """In production the root CA's files must open with their passphrase at start-up, not at the
    first certificate."""
    if settings.production:
        try:
            RootSource.of(settings).load(dt.datetime.now(dt.UTC))
        except RootUnavailable as exc:
            raise UnsafeSettings([f"PKI_ROOT_KEY_FILE: {exc}"]) from exc


def persisted_documents(settings: Settings) -> PersistedDocuments:
    """The registered documents and the mode: PERSISTED_DOCUMENTS_FILE, checked against the schema
    (a bad entry refuses start), and the console's own (`<CONSOLE_ASSETS>/persisted-documents.json`,
    written by its build: the console sends only hashes; a stale entry is logged and skipped)."""
    console = Path(settings.console_assets) / CONSOLE_MANIFEST

    def console_documents() -> dict[str, str]:
        return load_manifest(str(console), schema._schema, lenient=True) if console.is_file() else {}

    registered = console_documents()
    if settings.persisted_documents_file:
        registered.update(load_manifest(settings.persisted_documents_file, schema._schema))
    return PersistedDocuments(
        registered, allow_list=settings.persisted_documents == "allow-list",
        cache_size=settings.persisted_query_cache_size, max_tokens=settings.max_query_tokens,
        refresh=console_documents,  # a console rebuilt while the gateway runs: its new hashes count at once
    )


def build_services(settings: Settings) -> Services:
    refuse_unsafe(settings)  # GATEWAY_ENV=production with development secrets or a loopback address
    refuse_unopenable_root(settings)
    s = settings
    persisted = persisted_documents(s)  # before the engine: a bad manifest stops start-up with nothing open
    engine = make_engine(s.database_url)
    verifier = TokenVerifier(s)
    return Services(
        settings=s,
        engine=engine,
        platform=SystemPlatform(s),
        verifier=verifier,
        actors=Actors(engine, verifier),
        bulk=JobBoard(BulkLimits(max_bytes=s.import_max_bytes, max_rows=s.import_max_rows)),
        limits=Limits(
            max_depth=s.max_query_depth, max_aliases=s.max_query_aliases, max_tokens=s.max_query_tokens,
            max_cost=s.max_query_cost, budget_per_minute=s.cost_budget_per_minute, introspection=s.introspection,
            anonymous_budget_per_minute=s.anonymous_cost_budget_per_minute,
        ),
        cost_budgets=budget_store(engine),
        persisted=persisted,
    )
