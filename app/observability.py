"""Operations: structured JSON logs carrying a request id, and Prometheus metrics.

Logs never carry CPR numbers, activation codes or tokens: only ids, operation names and codes."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        if (rid := request_id_var.get()) is not None:
            entry["requestId"] = rid
        for key in ("operation", "principal", "organisation", "durationMs", "codes", "status"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["stack"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _message(record: logging.LogRecord) -> str:
    """uvicorn's access line without the query string: `/activate?token=…` and the exports'
    `?search=…` are the client's words (an activation token, a CPR number searched for)."""
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        return record.msg % (client, method, str(path).split("?", 1)[0], version, status)
    return record.getMessage()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosqlite's DEBUG lines carry every statement's bound parameters (emails, searched text).
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("gateway_graphql_requests", "GraphQL operations", ["operation", "outcome"],
                                registry=self.registry)
        self.latency = Histogram("gateway_graphql_seconds", "GraphQL operation latency", ["operation"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.errors = Counter("gateway_graphql_errors", "GraphQL errors by code", ["code"], registry=self.registry)
        self.http = Counter("gateway_http_requests", "HTTP requests", ["method", "status"], registry=self.registry)
        self.pool_checked_out = Gauge("gateway_db_pool_checked_out", "Database connections in use",
                                      registry=self.registry)
        self.pool_size = Gauge("gateway_db_pool_size", "Database pool size", registry=self.registry)
        self.outbox_pending = Gauge("gateway_outbox_pending", "Emails waiting in the outbox", registry=self.registry)
        self.jobs_queued = Gauge("gateway_bulk_jobs_waiting", "Import jobs queued or running", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestContext:
    """ASGI middleware: a request id per request (from X-Request-ID or new), echoed back, set for
    the logs; HTTP status counts for the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}.get("x-request-id")
        rid = incoming if incoming and len(incoming) <= 100 and incoming.isprintable() else uuid.uuid4().hex
        token = request_id_var.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
                self.metrics.http.labels(scope.get("method", "WS"), str(message["status"])).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class OperationLog(SchemaExtension):
    """One structured log line and the metrics for every GraphQL operation.

    Neither carries the client's words: the log names the operation by a redacted operation name
    (a GraphQL name, truncated) and the error codes; the metrics by the root field, which the
    schema bounds (a client-chosen name as a label grows /metrics without end)."""

    def on_operation(self) -> Iterator[None]:  # type: ignore[override]
        started = time.perf_counter()
        yield
        ec = self.execution_context
        services = getattr(ec.context, "services", None)
        metrics: Metrics | None = getattr(services, "metrics", None)
        label = operation_label(ec)
        name = redacted_name(ec.operation_name) or label
        result = ec.result
        codes = sorted({
            str((e.extensions or {}).get("code", "UNKNOWN")) for e in (result.errors if result and result.errors else [])
        })
        elapsed = time.perf_counter() - started
        if metrics is not None:
            metrics.requests.labels(label, "error" if codes else "ok").inc()
            metrics.latency.labels(label).observe(elapsed)
            for c in codes:
                metrics.errors.labels(c if CODE.fullmatch(c) else "OTHER").inc()
        principal = getattr(ec.context, "principal", None)
        logging.getLogger("app.access").info(
            "graphql %s", name,
            extra={
                "operation": name, "durationMs": round(elapsed * 1000, 2), "codes": codes,
                "principal": str(principal.user_id) if principal else None,
                "organisation": principal.org_cvr if principal else None,
            },
        )


NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
CODE = re.compile(r"[A-Z][A-Z_]{0,39}")
MAX_NAME = 64


def redacted_name(name: object) -> str | None:
    """A client's operation name as logs may show it: a GraphQL name (so no CPR number, which
    starts with a digit and has a hyphen, nor a token, which has dots), at most 64 characters."""
    if not isinstance(name, str) or not name:
        return None
    match = NAME.match(name)
    return match.group(0)[:MAX_NAME] if match and match.end() == len(name) else "invalid"


def operation_label(ec: Any) -> str:
    """`<operation type>:<first root field>` when the field is in the schema, else
    `<operation type>:other`, or `invalid` for a document that did not parse: a set bounded by the
    schema's root fields, whatever names clients send."""
    from graphql import FieldNode, OperationDefinitionNode

    document = getattr(ec, "graphql_document", None)
    if document is None:
        return "invalid"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [d for d in operations if d.name and d.name.value == ec.operation_name] or operations
    if not chosen:
        return "invalid"
    operation = chosen[0]
    kind = operation.operation.value
    root = getattr(ec.schema._schema, f"{kind}_type", None)  # graphql-core's schema behind strawberry's
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            field = selection.name.value
            known = field in ("__typename", "__schema", "__type") or (root is not None and field in root.fields)
            return f"{kind}:{field}" if known else f"{kind}:other"
    return f"{kind}:other"


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema, without its error log: `process_errors` logged every failed request at
    ERROR with the error's text, which quotes the query (a CPR number or a password written inline)
    and a stack for every FORBIDDEN. Here client errors are only the codes in the access line
    (INFO, see OperationLog); our own bugs are logged once, at ERROR with the stack and a
    correlation id, by the ErrorCodes extension (app/schema/extensions.py)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None


__all__ = ["PROMETHEUS_CONTENT_TYPE", "GatewaySchema", "JsonFormatter", "Metrics", "OperationLog", "RequestContext",
           "configure_logging", "operation_label", "redacted_name", "request_id_var"]
