"""Webhook endpoints and deliveries: plain data, and what the domain needs from their store."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.domain.webhooks.rules import DeliveryStatus, EndpointStatus


@dataclass(slots=True)
class WebhookEndpoint:
    id: uuid.UUID
    org_id: int
    url: str
    description: str
    event_types: tuple[str, ...]
    status: EndpointStatus
    consecutive_failures: int
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None


@dataclass(slots=True, frozen=True)
class WebhookDelivery:
    id: int
    endpoint_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_response_code: int | None
    last_error: str | None


class WebhookRepository(Protocol):
    """The organisation's endpoints (scoped by the unit of work's organisation)."""

    async def count(self) -> int: ...
    async def add(self, endpoint: WebhookEndpoint, sealed_secret: bytes) -> None: ...
    async def delete(self, endpoint_id: uuid.UUID) -> bool: ...
    # The worker's outcomes of one attempt (the delivery was claimed by this process).
    async def delivered(self, delivery_id: int, endpoint_id: uuid.UUID, code: int, now: dt.datetime) -> None: ...
    async def attempt_failed(
        self, delivery_id: int, endpoint_id: uuid.UUID, code: int | None, error: str, retry_at: dt.datetime | None,
    ) -> int: ...
    async def disable(self, endpoint_id: uuid.UUID, now: dt.datetime) -> WebhookEndpoint | None: ...


def event_types_of(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))
