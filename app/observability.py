"""Operations: structured JSON logs carrying a request id, and Prometheus metrics.

Logs never carry CPR numbers, activation codes or tokens: only ids, operation names and codes."""

from __future__ import annotations

import contextvars
import json
import logging
import uuid
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


__all__ = ["PROMETHEUS_CONTENT_TYPE", "JsonFormatter", "Metrics", "RequestContext", "configure_logging",
           "request_id_var"]
