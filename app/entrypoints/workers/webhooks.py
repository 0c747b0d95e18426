"""Delivering webhooks from their outbox (webhook_deliveries, written with each change): claim the
due head of each active endpoint's queue, sign and send it (app/adapters/webhooks.py), record the
outcome (delivered; retried with back-off; given up; the endpoint disabled after repeated failure,
its organisation administrators told). Also keeps the change feed to its retention."""

from __future__ import annotations

import datetime as dt
import logging

import httpx

from app.adapters.webhooks import SecretBox, payload, send
from app.bootstrap import Services
from app.domain.common.errors import DomainError
from app.domain.common.principal import Actor
from app.domain.webhooks.endpoints import record_delivered, record_failed_attempt
from app.domain.webhooks.events import ChangeKind
from app.domain.webhooks.rules import RetryPolicy
from app.entrypoints.workers.worker import Worker, log
from app.persistence.changes import prune_changes
from app.persistence.db import write_transaction
from app.persistence.webhooks import DueDelivery, claim_due
from app.schema.runtime.base import to_global_id

wlog = logging.getLogger("app.webhooks")
LEASE = dt.timedelta(minutes=2)
PRUNE_EVERY = dt.timedelta(hours=1)


def retry_policy(services: Services) -> RetryPolicy:
    s = services.settings
    return RetryPolicy(max_attempts=s.webhook_max_attempts, base_seconds=s.webhook_retry_base_seconds,
                       disable_after=s.webhook_disable_after_failures)


def message_of(d: DueDelivery) -> tuple[str, str]:
    """(webhook-id, body). The id is the delivery's, the same on every retry (receivers dedupe on it)."""
    data = {
        "id": to_global_id(d.entity_type, d.entity_id or d.org_cvr),
        "entityType": d.entity_type, "kind": ChangeKind(d.kind).value, "organisation": d.org_cvr,
        "changeId": d.change_id,
    }
    return f"msg_{d.id}", payload(d.event_type, d.occurred_at, data)


async def deliver_due(services: Services, client: httpx.AsyncClient, limit: int = 20) -> int:
    """One round: every claimed delivery is attempted once. Returns how many were delivered."""
    settings = services.settings
    box = SecretBox(settings)
    policy = retry_policy(services)
    delivered = 0
    for d in await claim_due(services.engine, dt.datetime.now(dt.UTC), limit, LEASE):
        message_id, body = message_of(d)
        try:
            secret = box.open(d.endpoint_id, d.secret_sealed)
        except Exception:  # a DATA_KEY changed under it: nothing can be signed, the attempt fails
            secret = None
        if secret is None:
            ok, code, error = False, None, "the signing secret cannot be opened (DATA_KEY changed?)"
        else:
            out = await send(client, d.url, secret, message_id, body, dt.datetime.now(dt.UTC),
                             allow_private=settings.webhook_allow_private_addresses,
                             timeout=settings.webhook_timeout_seconds)
            ok, code, error = out.ok, out.code, out.error
        actor = Actor(d.org_id, d.org_cvr, None, frozenset())
        try:
            async with services.unit_of_work(actor) as uow:
                if ok:
                    await record_delivered(uow, d.id, d.endpoint_id, code or 200)
                else:
                    disabled = await record_failed_attempt(uow, d.id, d.endpoint_id, d.attempts, code, error, policy)
                    if disabled:
                        wlog.warning("webhook endpoint %s disabled after repeated failure", d.endpoint_id)
                await uow.commit()
        except DomainError as exc:  # a concurrent change (the endpoint deleted): the lease expires
            wlog.info("webhook delivery %s outcome not recorded: %s", d.id, exc.message)
            continue
        if ok:
            delivered += 1
        else:
            wlog.info("webhook delivery %s to endpoint %s failed (attempt %s): %s", d.id, d.endpoint_id, d.attempts,
                      error[:120])
    return delivered


async def prune(services: Services, now: dt.datetime) -> int:
    """Changes past retention, a transaction per slice (SQLite's writer lock is held per slice only)."""
    older_than = now - dt.timedelta(days=services.settings.change_feed_retention_days)
    done = 0
    while True:
        async with write_transaction(services.engine) as conn:
            pruned = await prune_changes(conn, older_than)
        done += pruned
        if not pruned:
            return done


async def run(services: Services) -> None:
    import asyncio

    interval = services.settings.webhook_interval_seconds
    pruned_at: dt.datetime | None = None
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        while True:
            try:
                now = dt.datetime.now(dt.UTC)
                if pruned_at is None or now - pruned_at >= PRUNE_EVERY:
                    await prune(services, now)
                    pruned_at = now
                while await deliver_due(services, client):
                    pass  # a full round may leave more due: go on until a round delivers nothing
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job webhooks failed; retrying in %.1fs", interval)
            await asyncio.sleep(interval)


WORKER = Worker("webhooks", run)
