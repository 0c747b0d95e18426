"""Use cases: an organisation administrator registers and deletes webhook endpoints; the worker
records each attempt's outcome and disables an endpoint that keeps failing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.domain.common.errors import DomainError, NotFound, ValidationFailed
from app.domain.common.ports import UnitOfWork
from app.domain.common.principal import Role
from app.domain.notifications.delivery import notify_role
from app.domain.webhooks.events import EVENT_NAMES
from app.domain.webhooks.model import WebhookEndpoint, event_types_of
from app.domain.webhooks.rules import (
    MAX_ENDPOINTS_PER_ORGANISATION,
    EndpointStatus,
    RetryPolicy,
    backoff,
    check_description,
    new_secret,
    parse_destination,
)

ENDPOINT_DISABLED = "WEBHOOK_ENDPOINT_DISABLED"  # the notification's kind


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    url: str
    event_types: Sequence[str]
    description: str | None


# Seals a secret for storage, bound to its endpoint (the adapter encrypts it with a key derived
# from DATA_KEY); the plain secret is returned once and never stored.
Sealer = Callable[[uuid.UUID, str], bytes]


async def create_webhook_endpoint(
    uow: UnitOfWork, data: NewEndpoint, seal: Sealer, *, allow_private: bool,
) -> tuple[WebhookEndpoint, str]:
    """`data.url` was resolved and its addresses checked by the caller (network is not ours)."""
    errors: list[DomainError] = []
    try:
        parse_destination(data.url, allow_private=allow_private)
    except DomainError as exc:
        errors.append(exc)
    unknown = sorted(set(data.event_types) - EVENT_NAMES)
    if not data.event_types:
        errors.append(DomainError("REQUIRED", "Choose at least one event type", ["eventTypes"]))
    elif unknown:
        errors.append(DomainError("UNKNOWN_EVENT_TYPE", "Unknown event types: " + ", ".join(unknown), ["eventTypes"]))
    try:
        description = check_description(data.description)
    except DomainError as exc:
        errors.append(exc)
    if errors:
        raise ValidationFailed(errors)
    if await uow.webhooks.count() >= MAX_ENDPOINTS_PER_ORGANISATION:
        raise DomainError(
            "TOO_MANY_ENDPOINTS", f"An organisation has at most {MAX_ENDPOINTS_PER_ORGANISATION} webhook endpoints",
            ["url"],
        )
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(), org_id=uow.actor.org_id, url=data.url, description=description,
        event_types=event_types_of(data.event_types), status=EndpointStatus.ACTIVE, consecutive_failures=0,
        created_at=uow.platform.now(),
    )
    secret = new_secret()
    await uow.webhooks.add(endpoint, seal(endpoint.id, secret))
    return endpoint, secret


async def delete_webhook_endpoint(uow: UnitOfWork, endpoint_id: uuid.UUID) -> uuid.UUID:
    """Its deliveries go with it (pending ones are not sent)."""
    if not await uow.webhooks.delete(endpoint_id):
        raise NotFound("Webhook endpoint", ["webhookEndpointId"])
    return endpoint_id


async def record_delivered(uow: UnitOfWork, delivery_id: int, endpoint_id: uuid.UUID, code: int) -> None:
    await uow.webhooks.delivered(delivery_id, endpoint_id, code, uow.platform.now())


async def record_failed_attempt(
    uow: UnitOfWork, delivery_id: int, endpoint_id: uuid.UUID, attempts: int, code: int | None, error: str,
    policy: RetryPolicy,
) -> bool:
    """Retry later with back-off, or give the delivery up after its last attempt (the endpoint's
    next one goes then). After `disable_after` consecutive failed attempts the endpoint is disabled
    and the organisation administrators are told. Returns whether it was disabled now."""
    now = uow.platform.now()
    retry_at = None if attempts >= policy.max_attempts else now + backoff(attempts, policy)
    failures = await uow.webhooks.attempt_failed(delivery_id, endpoint_id, code, error, retry_at)
    if failures < policy.disable_after:
        return False
    endpoint = await uow.webhooks.disable(endpoint_id, now)
    if endpoint is None:
        return False
    await notify_role(
        uow, Role.ORGANISATION_ADMINISTRATOR, ENDPOINT_DISABLED, "A webhook endpoint was disabled",
        # named by host and description: an endpoint's path or query often carries the receiver's token
        f"The webhook endpoint at {_where(endpoint)} failed {failures} times in a row and was disabled at "
        f"{_moment(now)}. No further events are sent to it; delete it and register it again once it answers.",
    )
    return True


def _where(endpoint: WebhookEndpoint) -> str:
    host = urlsplit(endpoint.url).hostname or "?"
    return f"{host} ({endpoint.description})" if endpoint.description else host


def _moment(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")
