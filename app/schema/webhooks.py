"""Webhooks: an organisation administrator registers HTTPS endpoints for event types; the signing
secret is returned once by createWebhookEndpoint and never readable again. Deliveries are sent by
the worker (app/entrypoints/workers/webhooks.py) and listed per endpoint."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from app.adapters.webhooks import SecretBox, check_endpoint_url
from app.domain.common.errors import DomainError
from app.domain.common.policy import Action, is_allowed
from app.domain.webhooks import endpoints as uc
from app.domain.webhooks.model import WebhookDelivery as DomainDelivery
from app.domain.webhooks.model import WebhookEndpoint as DomainEndpoint
from app.domain.webhooks.rules import DeliveryStatus as DomainDeliveryStatus
from app.domain.webhooks.rules import EndpointStatus as DomainEndpointStatus
from app.persistence import webhooks as webhooks_sql
from app.schema.changes import EVENT_BY_NAME, WebhookEventType
from app.schema.runtime.area import Area
from app.schema.runtime.base import (
    Node,
    PageInfo,
    UserError,
    decode_cursor,
    encode_cursor,
    in_unit_of_work,
    not_found,
    page_info_of,
    page_size,
    requires,
    to_global_id,
    user_errors,
    uuid_of,
)
from app.schema.runtime.context import Context

WebhookEndpointStatus = strawberry.enum(DomainEndpointStatus, name="WebhookEndpointStatus")
WebhookDeliveryStatus = strawberry.enum(DomainDeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(description="One event sent (or to be sent) to an endpoint, with its attempts.")
class WebhookDelivery:
    message_id: str = strawberry.field(description="The webhook-id header, the same on every retry")
    event_type: WebhookEventType  # type: ignore[valid-type]
    status: WebhookDeliveryStatus
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_response_code: int | None
    last_error: str | None = strawberry.field(description="At most a few hundred bytes of the last failure")

    @classmethod
    def of(cls, d: DomainDelivery) -> WebhookDelivery:
        return cls(
            message_id=f"msg_{d.id}", event_type=EVENT_BY_NAME[d.event_type], status=WebhookDeliveryStatus(d.status),
            attempts=d.attempts, created_at=d.created_at,
            next_attempt_at=d.next_attempt_at if d.status is DomainDeliveryStatus.PENDING else None,
            delivered_at=d.delivered_at, last_response_code=d.last_response_code, last_error=d.last_error,
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo


@strawberry.type(name="WebhookEndpoint")
class WebhookEndpointNode(Node):
    id: strawberry.ID
    url: str
    description: str
    event_types: list[WebhookEventType]  # type: ignore[valid-type]
    status: WebhookEndpointStatus
    consecutive_failures: int
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    _id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Newest first")
    async def deliveries(self, info: Info, first: int | None = None, after: str | None = None) -> WebhookDeliveryConnection:
        ctx: Context = info.context
        limit = page_size(first)
        before = decode_cursor(after, "WebhookDelivery")
        rows = await ctx.reader.run(webhooks_sql.deliveries_of, self._id, before, limit + 1)
        edges = [WebhookDeliveryEdge(cursor=encode_cursor("WebhookDelivery", d.id), node=WebhookDelivery.of(d))
                 for d in rows[:limit]]
        return WebhookDeliveryConnection(
            edges=edges, page_info=page_info_of(edges, has_next=len(rows) > limit, has_previous=before is not None),
        )

    @classmethod
    def of(cls, e: DomainEndpoint) -> WebhookEndpointNode:
        return cls(
            id=to_global_id("WebhookEndpoint", e.id), url=e.url, description=e.description,
            event_types=[EVENT_BY_NAME[t] for t in e.event_types if t in EVENT_BY_NAME],
            status=WebhookEndpointStatus(e.status), consecutive_failures=e.consecutive_failures,
            created_at=e.created_at, disabled_at=e.disabled_at, _id=e.id,
        )

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> WebhookEndpointNode | None:
        """node(id:): organisation administrators, an endpoint of their own organisation."""
        ctx: Context = info.context
        endpoint_id = uuid_of(id, "WebhookEndpoint")
        if endpoint_id is None or ctx.principal is None or not is_allowed(ctx.principal.roles, Action.MANAGE_WEBHOOKS):
            return None
        e = await ctx.reader.run(webhooks_sql.endpoint_by_id, endpoint_id)
        return cls.of(e) if e else None


@strawberry.type
class WebhookEndpointEdge:
    cursor: str
    node: WebhookEndpointNode


@strawberry.type
class WebhookEndpointConnection:
    edges: list[WebhookEndpointEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https:// (plain http and private addresses only with "
                                            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1)")
    event_types: list[WebhookEventType]  # type: ignore[valid-type]
    description: str | None = None


@strawberry.input
class DeleteWebhookEndpointInput:
    webhook_endpoint_id: strawberry.ID


@strawberry.type
class CreateWebhookEndpointPayload:
    webhook_endpoint: WebhookEndpointNode | None
    signing_secret: str | None = strawberry.field(
        description="whsec_…: shown here once, never again (Standard Webhooks: verify webhook-signature with it)"
    )
    user_errors: list[UserError]


@strawberry.type
class DeleteWebhookEndpointPayload:
    deleted_webhook_endpoint_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class WebhookQueries:
    @strawberry.field(permission_classes=requires(Action.MANAGE_WEBHOOKS))
    async def webhook_endpoints(
        self, info: Info, first: int | None = None, after: str | None = None,
    ) -> WebhookEndpointConnection:
        ctx: Context = info.context
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        rows, total = await ctx.reader.run(webhooks_sql.list_endpoints, offset, limit)
        edges = [WebhookEndpointEdge(cursor=encode_cursor("Offset", offset + i + 1), node=WebhookEndpointNode.of(e))
                 for i, e in enumerate(rows)]
        return WebhookEndpointConnection(
            edges=edges, total_count=total,
            page_info=page_info_of(edges, has_next=offset + len(rows) < total, has_previous=offset > 0),
        )


_BOXES: dict[str, SecretBox] = {}


def _box(info: Info) -> SecretBox:
    settings = info.context.services.settings
    if settings.data_key not in _BOXES:
        _BOXES[settings.data_key] = SecretBox(settings)
    return _BOXES[settings.data_key]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(permission_classes=requires(Action.MANAGE_WEBHOOKS))
    async def create_webhook_endpoint(self, info: Info, input: CreateWebhookEndpointInput) -> CreateWebhookEndpointPayload:
        allow_private = info.context.services.settings.webhook_allow_private_addresses
        try:  # the URL's form, and where its name points (the network: not the use case's)
            await check_endpoint_url(input.url, allow_private=allow_private)
        except DomainError as exc:
            return CreateWebhookEndpointPayload(webhook_endpoint=None, signing_secret=None, user_errors=user_errors(exc))
        data = uc.NewEndpoint(url=input.url, event_types=[t.value for t in input.event_types],
                              description=input.description)
        box = _box(info)
        result, errors = await in_unit_of_work(
            info, lambda uow: uc.create_webhook_endpoint(uow, data, box.seal, allow_private=allow_private)
        )
        if result is None:
            return CreateWebhookEndpointPayload(webhook_endpoint=None, signing_secret=None, user_errors=errors)
        endpoint, secret = result
        return CreateWebhookEndpointPayload(webhook_endpoint=WebhookEndpointNode.of(endpoint), signing_secret=secret,
                                            user_errors=[])

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_WEBHOOKS))
    async def delete_webhook_endpoint(self, info: Info, input: DeleteWebhookEndpointInput) -> DeleteWebhookEndpointPayload:
        endpoint_id = uuid_of(input.webhook_endpoint_id, "WebhookEndpoint")
        if endpoint_id is None:
            return DeleteWebhookEndpointPayload(deleted_webhook_endpoint_id=None,
                                                user_errors=not_found("webhookEndpointId", "Webhook endpoint"))
        deleted, errors = await in_unit_of_work(info, lambda uow: uc.delete_webhook_endpoint(uow, endpoint_id))
        return DeleteWebhookEndpointPayload(
            deleted_webhook_endpoint_id=to_global_id("WebhookEndpoint", deleted) if deleted else None, user_errors=errors,
        )


AREA = Area(queries=(WebhookQueries,), mutations=(WebhookMutations,), types=(WebhookEndpointNode,))
