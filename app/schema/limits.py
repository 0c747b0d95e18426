"""Abuse limits for GraphQL: depth, aliases, tokens, and a query cost (a Shopify-like model: every
object costs 1, a connection multiplies what is inside its edges/nodes by its page size) with a
per-principal budget per minute. Every response reports `extensions.cost`."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    validate,
    value_from_ast_untyped,
)
from graphql.language import Lexer
from strawberry.extensions import SchemaExtension

from app.schema.base import DEFAULT_PAGE, field_nodes

PAGE_DEFAULTS = {"history": 200}


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 25_000
    budget_per_minute: int = 100_000
    introspection: bool = True


@dataclass
class CostBudgets:
    """A token bucket of cost points per principal, refilled continuously (per process)."""

    per_minute: int
    _buckets: dict[Any, tuple[float, float]] = field(default_factory=dict)

    def _level(self, key: Any, now: float) -> float:
        level, at = self._buckets.get(key, (float(self.per_minute), now))
        return min(float(self.per_minute), level + (now - at) * self.per_minute / 60.0)

    def take(self, key: Any, cost: int) -> tuple[bool, float, int]:
        """(allowed, remaining, retry_after_seconds)."""
        now = time.monotonic()
        level = self._level(key, now)
        if cost > level:
            wait = math.ceil((cost - level) * 60.0 / self.per_minute)
            self._buckets[key] = (level, now)
            return False, level, max(1, wait)
        self._buckets[key] = (level - cost, now)
        return True, level - cost, 0

    def refund(self, key: Any, points: int) -> float:
        now = time.monotonic()
        level = min(float(self.per_minute), self._level(key, now) + max(points, 0))
        self._buckets[key] = (level, now)
        return level


def limit_error(code: str, message: str, **extra: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extra})


@functools.lru_cache(maxsize=256)
def count_tokens(query: str, stop_after: int) -> int:
    """Tokens in the query (up to stop_after + 1), remembered per query text like validation."""
    return _count_tokens(query, stop_after)


def _count_tokens(query: str, stop_after: int) -> int:
    lexer = Lexer(Source(query))
    n = 0
    while lexer.advance().kind != TokenKind.EOF:
        n += 1
        if n > stop_after:
            break
    return n


class _Walker:
    def __init__(self, document: DocumentNode, variables: dict[str, Any]) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables = variables

    def fields(self, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
        return field_nodes(selection_set, self.fragments)

    def page_size(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value in ("first", "last"):
                value = value_from_ast_untyped(arg.value, self.variables)
                if isinstance(value, int) and value >= 0:
                    return value
        return PAGE_DEFAULTS.get(node.name.value, DEFAULT_PAGE)

    def cost(self, selection_set: SelectionSetNode | None, multiplier: int) -> int:
        total = 0
        for f in self.fields(selection_set):
            if f.selection_set is None or f.name.value.startswith("__"):
                continue
            total += multiplier
            children = list(self.fields(f.selection_set))
            if any(c.name.value in ("edges", "nodes") for c in children):
                size = self.page_size(f)
                for c in children:
                    inner = multiplier * size if c.name.value in ("edges", "nodes") else multiplier
                    if c.selection_set is not None:
                        total += inner + self.cost(c.selection_set, inner)
            else:
                total += self.cost(f.selection_set, multiplier)
        return total

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        deepest = 0
        for f in self.fields(selection_set):
            if f.selection_set is not None:
                deepest = max(deepest, 1 + self.depth(f.selection_set))
        return deepest

    def aliases(self, selection_set: SelectionSetNode | None) -> int:
        n = 0
        for f in self.fields(selection_set):
            n += 1 if f.alias is not None else 0
            n += self.aliases(f.selection_set)
        return n


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def actual_cost(data: Any) -> int:
    """Objects actually returned (every dict in the response data). Iterative, and only containers
    are visited: a page of 500 users holds tens of thousands of scalars."""
    n = 0
    stack = [data] if isinstance(data, dict | list) else []
    pop, push = stack.pop, stack.append
    while stack:
        items = pop()
        if isinstance(items, dict):
            n += 1
            items = items.values()
        for item in items:
            if isinstance(item, dict | list):
                push(item)
    return n


_VALIDATION_CACHE: dict[tuple[str, tuple[Any, ...]], list[GraphQLError]] = {}
_VALIDATION_CACHE_SIZE = 256


def _validated(schema: Any, document: DocumentNode, query: str | None, rules: tuple[Any, ...]) -> list[GraphQLError]:
    """The standard validation, remembered per query text: dashboards send the same few queries
    over and over, and validation costs milliseconds (it does not depend on variables)."""
    if query is None:
        return list(validate(schema, document, list(rules)))
    key = (query, rules)
    if key not in _VALIDATION_CACHE:
        if len(_VALIDATION_CACHE) >= _VALIDATION_CACHE_SIZE:
            _VALIDATION_CACHE.pop(next(iter(_VALIDATION_CACHE)))
        _VALIDATION_CACHE[key] = list(validate(schema, document, list(rules)))
    return list(_VALIDATION_CACHE[key])


class QueryLimits(SchemaExtension):
    """Runs the standard validation itself, then the limits, before anything executes."""

    # Set by on_validate, which never runs when the document does not parse: get_results must
    # then report nothing rather than fail (a syntax error was an HTTP 500).
    _requested: int | None = None
    _remaining: float | None = None

    def _limits(self) -> tuple[Limits, CostBudgets | None]:
        services = getattr(self.execution_context.context, "services", None)
        if services is None:
            return Limits(), None
        return services.limits, services.cost_budgets

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        ec = self.execution_context
        self._requested: int | None = None
        self._remaining: float | None = None
        limits, budgets = self._limits()
        if ec.pre_execution_errors is None and ec.graphql_document is not None:
            errors = _validated(ec.schema._schema, ec.graphql_document, ec.query, tuple(ec.validation_rules))
            if not errors:
                errors = self._check(limits, budgets)
            ec.pre_execution_errors = errors
        yield

    def _check(self, limits: Limits, budgets: CostBudgets | None) -> list[GraphQLError]:
        ec = self.execution_context
        assert ec.graphql_document is not None
        if _has_nul(ec.variables) or (ec.query is not None and "\x00" in ec.query):
            # No text we store may hold a NUL (PostgreSQL refuses it); refuse it at the door.
            return [limit_error("INVALID_CHARACTERS", "Text may not contain NUL characters")]
        if ec.query and count_tokens(ec.query, limits.max_tokens) > limits.max_tokens:
            return [limit_error("QUERY_TOO_LARGE", f"The query has more than {limits.max_tokens} tokens")]
        walker = _Walker(ec.graphql_document, ec.variables or {})
        operations = [d for d in ec.graphql_document.definitions if isinstance(d, OperationDefinitionNode)]
        op = next((o for o in operations if ec.operation_name is None or (o.name and o.name.value == ec.operation_name)),
                  None)
        if op is None:
            return []
        if not limits.introspection and any(f.name.value in ("__schema", "__type")
                                            for f in walker.fields(op.selection_set)):
            return [limit_error("INTROSPECTION_DISABLED", "Introspection is switched off on this server")]
        depth = walker.depth(op.selection_set)
        if depth > limits.max_depth:
            return [limit_error("QUERY_TOO_DEEP", f"The query is {depth} levels deep; at most {limits.max_depth}")]
        aliases = walker.aliases(op.selection_set)
        if aliases > limits.max_aliases:
            return [limit_error("TOO_MANY_ALIASES", f"The query uses {aliases} aliases; at most {limits.max_aliases}")]
        requested = walker.cost(op.selection_set, 1)
        self._requested = requested
        if requested > limits.max_cost:
            return [limit_error("QUERY_TOO_COSTLY", f"The query would cost {requested} points; at most {limits.max_cost}",
                                cost={"requested": requested, "limit": limits.max_cost})]
        principal = getattr(ec.context, "principal", None)
        if budgets is not None and principal is not None:
            allowed, remaining, retry_after = budgets.take(principal.user_id, requested)
            self._remaining = remaining
            if not allowed:
                response = getattr(ec.context, "response", None)
                if response is not None:
                    response.status_code = 429
                    response.headers["Retry-After"] = str(retry_after)
                return [limit_error("RATE_LIMITED", f"Cost budget exhausted; retry in {retry_after} s",
                                    retryAfter=retry_after)]
        return []

    def get_results(self) -> dict[str, Any]:
        if self._requested is None:
            return {}
        limits, budgets = self._limits()
        result = self.execution_context.result
        # The response's root object is not a field: count what the query selected. Our executor
        # counts the objects it completes (also any that a null in a non-null field then dropped);
        # any other executor's result is walked.
        counted = getattr(self.execution_context.context, "completed_objects", None)
        if result is None or result.data is None:
            actual = 0
        elif isinstance(counted, list) and counted[0]:
            actual = counted[0]
        else:
            actual = max(actual_cost(result.data) - 1, 0)
        principal = getattr(self.execution_context.context, "principal", None)
        remaining = self._remaining
        if budgets is not None and principal is not None and remaining is not None and not (
            result is not None and result.errors and result.data is None
        ):
            remaining = budgets.refund(principal.user_id, self._requested - actual)
        cost: dict[str, Any] = {"requested": self._requested, "actual": actual, "limit": limits.max_cost}
        if remaining is not None:
            cost["remaining"] = int(remaining)
            cost["budgetPerMinute"] = limits.budget_per_minute
        return {"cost": cost}
