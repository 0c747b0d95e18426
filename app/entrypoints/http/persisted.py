"""Persisted documents at the edge: which HTTP status each refusal gets, and the same extension
honoured in a WebSocket `subscribe` (app/schema/runtime/persisted.py decides what runs).

Statuses, as Apollo's servers and clients do it:
- PERSISTED_QUERY_NOT_FOUND is 200 under both media types, with `Cache-Control: private, no-cache,
  must-revalidate` (Apollo Server's answer). It is not a failure but the protocol's "send the text
  too"; Apollo Client 4 retries on any status, but Apollo Client 3's older default `disable` and its
  ports (Dart's graphql and ferry links) turn persisted queries off for good on a 400 or 500.
- A malformed extension, an unknown version and a hash that is not the text's SHA-256 are the HTTP
  request's own mistakes: 400 like every other malformed request parameter (Apollo Server: 400).
- PERSISTED_QUERY_NOT_IN_LIST (allow-list mode) is a request error like a document that does not
  validate: 400 under graphql-response+json, 200 under application/json.
Every refusal is logged at INFO by its code only (never the text, the variables or the hash) and
counted in /metrics (`gateway_graphql_errors{code=…}`: the APQ misses among them).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from strawberry.http import GraphQLRequestData

from app.entrypoints.http.graphql import RequestRefused
from app.observability import Metrics
from app.schema.runtime.persisted import (
    BAD_REQUEST,
    HASH_MISMATCH,
    NOT_FOUND,
    VERSION_UNSUPPORTED,
    PersistedDocuments,
    PersistedQueryError,
)

log = logging.getLogger("app.graphql")
NO_CACHE = {"Cache-Control": "private, no-cache, must-revalidate"}
_STATUS = {NOT_FOUND: 200, BAD_REQUEST: 400, HASH_MISMATCH: 400, VERSION_UNSUPPORTED: 400}


def _note(error: PersistedQueryError, metrics: Metrics, where: str) -> None:
    log.info("persisted document refused%s (%s)", where, error.code, extra={"codes": [error.code]})
    metrics.errors.labels(error.code).inc()


def resolve_request(persisted: PersistedDocuments, data: GraphQLRequestData, metrics: Metrics) -> GraphQLRequestData:
    """The request with the document its persisted-query extension names (or RequestRefused)."""
    try:
        query = persisted.resolve(data.query, data.extensions)
    except PersistedQueryError as exc:
        _note(exc, metrics, "")
        raise RequestRefused(exc.code, exc.message, _STATUS.get(exc.code), NO_CACHE) from None
    return data if query is data.query else dataclasses.replace(data, query=query)


def resolve_subscribe(persisted: PersistedDocuments, payload: Any, metrics: Metrics
                      ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A `subscribe` payload with its document filled in, or the coded error to send instead.
    A payload that is not an object is left to Strawberry (it closes the socket 4400)."""
    if not isinstance(payload, dict):
        return payload, None
    query, extensions = payload.get("query"), payload.get("extensions")
    if not isinstance(query, str | None) or not isinstance(extensions, dict | None):
        return payload, None
    try:
        resolved = persisted.resolve(query, extensions)
    except PersistedQueryError as exc:
        _note(exc, metrics, " over the websocket")
        return None, {"message": exc.message, "extensions": {"code": exc.code}}
    return ({**payload, "query": resolved} if resolved is not query else payload), None
