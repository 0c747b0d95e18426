"""Every GraphQL operation's access line and metrics, and the schema class without strawberry's
error log."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.observability import Metrics


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
    correlation id, by the ErrorCodes extension (app/schema/runtime/extensions.py)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None

    async def execute(self, *args: Any, allowed_operation_types: Iterable[OperationType] | None = None,
                      **kwargs: Any) -> ExecutionResult:
        """Queries and mutations. A subscription runs only over the WebSocket (`subscribe`): over
        HTTP it has no stream to answer with, and graphql-core would fail on its null root value."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES) - {OperationType.SUBSCRIPTION}
        return await super().execute(*args, allowed_operation_types=allowed, **kwargs)
