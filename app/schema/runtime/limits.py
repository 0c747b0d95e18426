"""Abuse limits for GraphQL: tokens, depth, aliases, and a query cost (a Shopify-like model: every
object costs 1, a connection multiplies what is inside its edges/nodes by its page size, any other
list of objects by its bound; app/schema/runtime/query_cost.py) with a budget per principal — or, without a
token, per client address — per minute. Every response reports `extensions.cost`.

The document's walk is linear (each fragment worked out once) and remembered per document text
and page-size variables, as the validation is per document text: a dashboard sending the same
documents all day pays for neither again."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    Source,
    TokenKind,
    validate,
)
from graphql.language import Lexer
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.extensions import SchemaExtension

from app.persistence.budgets import MemoryBudgets, SharedBudgets
from app.schema.runtime.query_cost import Analysis, DocumentWalk

# graphql-core's OverlappingFieldsCanBeMerged compares every pair of fields of one response name:
# 1,250 `viewer { roles }` (5,000 tokens) took 2.2 s before the rule's own budget (500,000) aborted
# it. 50,000 aborts such a document in about 0.2 s; the dashboard's documents spend 0.
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = 50_000

Budgets = MemoryBudgets | SharedBudgets


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 25_000
    budget_per_minute: int = 100_000
    introspection: bool = True
    anonymous_budget_per_minute: int = 100_000


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


_ANALYSES: dict[Any, Analysis] = {}
_PAGE_VARIABLES: dict[tuple[str, str | None], frozenset[str]] = {}
_ANALYSES_SIZE = 512


def analyse(schema: Any, document: DocumentNode, operation: OperationDefinitionNode, query: str | None,
            operation_name: str | None, variables: dict[str, Any]) -> Analysis:
    """The operation's walk, remembered per document text, operation and the values of the
    variables that give page sizes (the only values the walk reads)."""
    names = _PAGE_VARIABLES.get((query, operation_name)) if query is not None else None
    key = None
    if names is not None:
        key = (query, operation_name, tuple(_hashable(variables.get(n, _ABSENT)) for n in sorted(names)))
        found = _ANALYSES.get(key)
        if found is not None:
            return found
    result = DocumentWalk(schema, document, variables, operation).analyse()
    if query is not None:
        _PAGE_VARIABLES[(query, operation_name)] = result.page_variables
        if key is None:
            key = (query, operation_name,
                   tuple(_hashable(variables.get(n, _ABSENT)) for n in sorted(result.page_variables)))
        if len(_ANALYSES) >= _ANALYSES_SIZE:
            _ANALYSES.pop(next(iter(_ANALYSES)))
        if len(_PAGE_VARIABLES) >= _ANALYSES_SIZE:
            _PAGE_VARIABLES.pop(next(iter(_PAGE_VARIABLES)))
        _ANALYSES[key] = result
    return result


_ABSENT = object()


def _hashable(value: Any) -> Any:
    """A page size is an int (or null, or absent); anything else is keyed by its type and repr."""
    return value if value is None or value is _ABSENT or type(value) is int else (type(value).__name__, repr(value)[:64])


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
    """Refuses what is too large before the standard validation (NUL characters, tokens), runs that
    validation itself (remembered per document), then the shape and cost limits and the budget,
    before anything executes; after execution, settles the budget by the actual cost."""

    # Set by on_validate, which never runs when the document does not parse: get_results must
    # then report nothing rather than fail (a syntax error was an HTTP 500).
    _requested: int | None = None
    _remaining: float | None = None
    _budget: tuple[Any, int] | None = None  # (key, budget per minute) of the request
    _charged = False

    def _limits(self) -> tuple[Limits, Budgets | None]:
        services = getattr(self.execution_context.context, "services", None)
        if services is None:
            return Limits(), None
        return services.limits, services.cost_budgets

    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        ec = self.execution_context
        self._requested = self._remaining = self._budget = None
        self._charged = False
        limits, budgets = self._limits()
        if ec.pre_execution_errors is None and ec.graphql_document is not None:
            errors = self._before_validation(limits)
            if not errors:
                errors = _validated(ec.schema._schema, ec.graphql_document, ec.query, tuple(ec.validation_rules))
            if not errors:
                errors = self._check(limits)
            if not errors and self._requested is not None and budgets is not None:
                errors = await self._charge(limits, budgets, self._requested)
            ec.pre_execution_errors = errors
        yield

    def _before_validation(self, limits: Limits) -> list[GraphQLError]:
        ec = self.execution_context
        if _has_nul(ec.variables) or (ec.query is not None and "\x00" in ec.query):
            # No text we store may hold a NUL (PostgreSQL refuses it); refuse it at the door.
            return [limit_error("INVALID_CHARACTERS", "Text may not contain NUL characters")]
        if ec.query and count_tokens(ec.query, limits.max_tokens) > limits.max_tokens:
            return [limit_error("QUERY_TOO_LARGE", f"The query has more than {limits.max_tokens} tokens")]
        return []

    def _check(self, limits: Limits) -> list[GraphQLError]:
        ec = self.execution_context
        assert ec.graphql_document is not None
        operations = [d for d in ec.graphql_document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1 and getattr(ec, "_provided_operation_name", None) is None:
            # The specification's GetOperation: a request error (Strawberry ran the first operation).
            return [limit_error("OPERATION_NAME_REQUIRED",
                                "The document has several operations: `operationName` must say which to run")]
        op = next((o for o in operations if ec.operation_name is None or (o.name and o.name.value == ec.operation_name)),
                  None)
        if op is None:
            return []
        found = analyse(ec.schema._schema, ec.graphql_document, op, ec.query, ec.operation_name,
                        ec.variables if isinstance(ec.variables, dict) else {})
        if not limits.introspection and found.introspection:
            return [limit_error("INTROSPECTION_DISABLED", "Introspection is switched off on this server")]
        if found.depth > limits.max_depth:
            return [limit_error("QUERY_TOO_DEEP", f"The query is {found.depth} levels deep; at most {limits.max_depth}")]
        if found.aliases > limits.max_aliases:
            return [limit_error("TOO_MANY_ALIASES",
                                f"The query uses {found.aliases} aliases; at most {limits.max_aliases}")]
        self._requested = found.cost
        if found.cost > limits.max_cost:
            return [limit_error("QUERY_TOO_COSTLY", f"The query would cost {found.cost} points; at most {limits.max_cost}",
                                cost={"requested": found.cost, "limit": limits.max_cost})]
        return []

    def _budget_key(self, limits: Limits) -> tuple[Any, int]:
        """A principal's budget; without one, the client address's (the socket's peer: a proxy in
        front makes every client one address unless it is given a budget of its own)."""
        ctx = self.execution_context.context
        principal = getattr(ctx, "principal", None)
        if principal is not None:
            return principal.user_id, limits.budget_per_minute
        client = getattr(getattr(ctx, "request", None), "client", None)
        host = getattr(client, "host", None)
        return (f"ip:{host}" if host else "ip:unknown"), limits.anonymous_budget_per_minute

    async def _charge(self, limits: Limits, budgets: Budgets, requested: int) -> list[GraphQLError]:
        key = self._budget_key(limits)
        verdict = await budgets.take(key[0], requested, key[1])
        self._budget, self._remaining, self._charged = key, verdict.remaining, verdict.allowed
        if verdict.allowed:
            return []
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:
            response.status_code = 429
            response.headers["Retry-After"] = str(verdict.retry_after)
        return [limit_error("RATE_LIMITED", f"Cost budget exhausted; retry in {verdict.retry_after} s",
                            retryAfter=verdict.retry_after)]

    def get_results(self) -> dict[str, Any]:
        if self._requested is None:
            return {}
        limits, budgets = self._limits()
        actual = self._actual()
        cost: dict[str, Any] = {"requested": self._requested, "actual": actual, "limit": limits.max_cost}
        if self._budget is None or self._remaining is None:
            return {"cost": cost}
        key, per_minute = self._budget
        remaining = self._remaining
        if budgets is not None and self._charged:
            # Charged by what was returned, at least 1 (the request itself): the difference to what
            # was taken is refunded, or charged when a response held more than was requested.
            remaining = budgets.settle(key, self._requested - max(actual, 1), per_minute)
        cost["remaining"], cost["budgetPerMinute"] = int(remaining), per_minute
        return {"cost": cost}

    def _actual(self) -> int:
        """Objects completed. The response's root object is not a field: count what the query
        selected. Our executor counts the objects it completes (also any that a null in a non-null
        field then dropped); any other executor's result is walked."""
        result = self.execution_context.result
        counted = getattr(self.execution_context.context, "completed_objects", None)
        if result is None or result.data is None:
            return counted[0] if isinstance(counted, list) and counted[0] else 0
        if isinstance(counted, list) and counted[0]:
            return counted[0]
        return max(actual_cost(result.data) - 1, 0)
