"""Persisted documents: Apollo's `extensions.persistedQuery {version: 1, sha256Hash}` and the
registered documents of a manifest.

Two sources answer a hash: the registered documents (read at start-up, each checked against its
hash, parsed and validated against the schema: a bad manifest refuses start) and, in the open mode,
automatic persisted queries (APQ) the clients register themselves by sending hash and text once.
The APQ store is a bounded LRU per process, and it keeps only what could run: a document that does
not parse, or is over the query size limit (tokens), or over MAX_DOCUMENT_CHARS, is run (or refused)
as if sent without a hash and not kept, so a client cannot fill memory with text that never runs.

In the allow-list mode only registered documents run: by hash, or by a full text whose hash is
registered; APQ registration is off and every other document is refused (PERSISTED_QUERY_NOT_IN_LIST).

This module knows no HTTP: PersistedQueryError carries a code, and the entrypoints pick the status.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, parse, validate

from app.schema.runtime.limits import count_tokens

log = logging.getLogger("app.graphql")
HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# A document's text beyond this is never kept by APQ (its tokens are bounded by GRAPHQL_MAX_TOKENS,
# but one string or name token can be long): 1,000 entries of at most 100,000 characters each.
MAX_DOCUMENT_CHARS = 100_000

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
VERSION_UNSUPPORTED = "PERSISTED_QUERY_VERSION_UNSUPPORTED"
BAD_REQUEST = "BAD_REQUEST"


class PersistedQueryError(Exception):
    """The request's persisted-query extension cannot be honoured; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidManifest(ValueError):
    """A manifest the gateway must not start with; the message names every bad entry. A ValueError,
    so the command line reports it like a bad setting."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"PERSISTED_DOCUMENTS_FILE ({path}) refuses start:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def sha256_hex(text: str) -> str:
    """The hash Apollo's clients send: SHA-256 of the document's UTF-8 text, lower-case hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The hash `extensions.persistedQuery` names (lower case), None without the extension;
    PersistedQueryError for a malformed one (a client's mistake, never a 500)."""
    if not extensions or extensions.get("persistedQuery") is None:
        return None
    pq = extensions["persistedQuery"]
    if not isinstance(pq, dict):
        raise PersistedQueryError(BAD_REQUEST, "`extensions.persistedQuery` must be an object "
                                               "{version: 1, sha256Hash}")
    version = pq.get("version")
    if type(version) is not int or version != 1:
        raise PersistedQueryError(VERSION_UNSUPPORTED, "Unsupported persisted query version: only version 1 is known")
    digest = pq.get("sha256Hash")
    if not isinstance(digest, str) or not HEX64.fullmatch(digest):
        raise PersistedQueryError(BAD_REQUEST, "`extensions.persistedQuery.sha256Hash` must be 64 hexadecimal digits")
    return digest.lower()


class DocumentCache:
    """Automatic persisted queries: hash → text, least recently used first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: str) -> str | None:
        text = self._entries.get(digest)
        if text is not None:
            self._entries.move_to_end(digest)
        return text

    def put(self, digest: str, text: str) -> None:
        if self.size <= 0:
            return
        self._entries[digest] = text
        self._entries.move_to_end(digest)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def storable(text: str, max_tokens: int) -> bool:
    """Whether APQ may keep `text`: within the size limits, and it parses."""
    if len(text) > MAX_DOCUMENT_CHARS or count_tokens(text, max_tokens) > max_tokens:
        return False
    try:
        parse(text, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    return True


class PersistedDocuments:
    """What a hash means in this process, and which documents may run."""

    def __init__(self, registered: Mapping[str, str], *, allow_list: bool, cache_size: int, max_tokens: int,
                 refresh: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.registered = dict(registered)
        self.allow_list = allow_list
        self.cache = DocumentCache(0 if allow_list else cache_size)
        self.max_tokens = max_tokens
        # Asked on an unknown hash: documents registered since start-up (the console rebuilt while the
        # gateway runs). Cheap when nothing changed: load_manifest remembers each file version.
        self.refresh = refresh

    def _registered(self, digest: str) -> str | None:
        found = self.registered.get(digest)
        if found is None and self.refresh is not None:
            self.registered.update(self.refresh())
            found = self.registered.get(digest)
        return found

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document to run for a request's `query` and `extensions` (None: the request has
        neither, which the caller answers as usual); PersistedQueryError when it may not run."""
        digest = requested_hash(extensions)
        if digest is not None and query == "":
            query = None  # graphql-ws must send a `query` string: "" beside a hash is no text (it never parses)
        if digest is None:
            if query is not None and self.allow_list and self._registered(sha256_hex(query)) is None:
                raise _not_in_list()
            return query
        if query is None:
            found = self.cache.get(digest) or self._registered(digest)
            if found is None:
                raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound")  # what Apollo's clients match
            return found
        if sha256_hex(query) != digest:
            raise PersistedQueryError(HASH_MISMATCH, "The query's SHA-256 is not `extensions.persistedQuery.sha256Hash`")
        if self._registered(digest) is not None:
            return query
        if self.allow_list:
            raise _not_in_list()
        if storable(query, self.max_tokens):
            self.cache.put(digest, query)
        return query


def _not_in_list() -> PersistedQueryError:
    return PersistedQueryError(NOT_IN_LIST, "Only registered documents run on this server "
                                            "(PERSISTED_DOCUMENTS=allow-list): send a registered document's hash")


# --- manifests ------------------------------------------------------------------------------------


def manifest_entries(data: object) -> list[tuple[str, object, object]]:
    """(label, hash, document) of each entry: Apollo's persisted-query manifest
    (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, name, type, body}]}`)
    or relay-compiler's / graphql-codegen's `{"<hash>": "<document>"}`; ValueError for anything else."""
    if isinstance(data, dict) and "format" in data:
        if data.get("format") != "apollo-persisted-query-manifest" or data.get("version") != 1:
            raise ValueError("`format` must be apollo-persisted-query-manifest and `version` 1")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ValueError("`operations` must be a list")
        entries = []
        for i, op in enumerate(operations):
            if not isinstance(op, dict):
                entries.append((f"operations[{i}]", None, None))
                continue
            name = op.get("name")
            entries.append((f"operations[{i}] ({name})" if isinstance(name, str) else f"operations[{i}]",
                            op.get("id"), op.get("body")))
        return entries
    if isinstance(data, dict):  # graphql-codegen's client preset writes its keys as "sha256:<hash>"
        return [(f"entry {key!r}"[:90], key.removeprefix("sha256:"), value) for key, value in data.items()]
    raise ValueError("a manifest is a JSON object: Apollo's persisted-query manifest or {hash: document}")


def entry_problem(label: str, digest: object, body: object, schema: GraphQLSchema) -> str | None:
    """What is wrong with one manifest entry, or None."""
    if not isinstance(body, str):
        return f"{label}: the document must be a string"
    if not isinstance(digest, str) or not HEX64.fullmatch(digest):
        return f"{label}: the id must be a SHA-256 hash (64 hexadecimal digits)"
    if sha256_hex(body) != digest.lower():
        return f"{label}: the id is not the SHA-256 of its document"
    try:
        document = parse(body, no_location=True)
    except GraphQLError as exc:
        return f"{label}: does not parse: {exc.message}"
    errors = validate(schema, document)
    if errors:
        return f"{label}: does not validate against the schema: {errors[0].message}"
    return None


def load_manifest(path: str, schema: GraphQLSchema, *, lenient: bool = False) -> dict[str, str]:
    """`read_manifest`, remembered per file version (path, size, modification time): checking the
    console's 47 documents takes about 0.2 s, and tests build an app many times per process."""
    try:
        stat = os.stat(path)
    except OSError:
        return read_manifest(path, schema, lenient=lenient)
    return dict(_remembered(path, stat.st_size, stat.st_mtime_ns, schema, lenient))


@functools.lru_cache(maxsize=16)
def _remembered(path: str, size: int, mtime_ns: int, schema: GraphQLSchema, lenient: bool) -> dict[str, str]:
    return read_manifest(path, schema, lenient=lenient)


def read_manifest(path: str, schema: GraphQLSchema, *, lenient: bool = False) -> dict[str, str]:
    """The registered documents of the manifest at `path`, hash → text; InvalidManifest naming
    every entry that is not the SHA-256 of its document, does not parse or does not validate.
    `lenient` (the console's own manifest, which a schema change can leave stale until the console
    is rebuilt) keeps the good entries and logs the bad ones at WARNING instead of refusing start."""
    try:
        data = json.loads(Path(path).read_bytes())
        entries = manifest_entries(data)
    except (OSError, ValueError) as exc:
        if lenient:
            log.warning("persisted documents of %s not registered: %s", path, exc)
            return {}
        raise InvalidManifest(path, [str(exc)]) from exc
    problems: list[str] = []
    documents: dict[str, str] = {}
    for label, digest, body in entries:
        if problem := entry_problem(label, digest, body, schema):
            problems.append(problem)
        else:
            documents[str(digest).lower()] = str(body)
    if problems and not lenient:
        raise InvalidManifest(path, problems)
    for problem in problems:
        log.warning("persisted document of %s not registered: %s", path, problem)
    return documents
