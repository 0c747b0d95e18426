"""GraphQL over HTTP as its specification says (graphql-http's `serverAudits` hold us to it).

Strawberry's view answers a client's mistakes in the request itself (not JSON, no query, a mutation
over GET, an unknown content type) with a plain-text status, and every GraphQL result with
`application/json` and 200. This view keeps Strawberry's execution and changes the edge:

- `Accept` picks `application/json` (also for `*/*`, `application/*` or no header) or
  `application/graphql-response+json`; anything else is 406.
- Under `application/graphql-response+json` a request error (the document does not parse or
  validate, a variable cannot be coerced: no `data`) is HTTP 400 without a `data` entry; under
  `application/json` it stays 200 with `data: null`, as the specification asks of that type.
- Bodies are JSON always, errors coded: `BAD_REQUEST` for the HTTP request itself (400; 405 a
  mutation over GET; 406; 415 a content type other than JSON or multipart).
- JSON is decoded by orjson, which refuses invalid UTF-8, lone surrogates and nesting beyond 1024
  levels: the request is then not JSON (400), where the standard library's decoder let a lone
  surrogate reach the database and a 3,000-level nesting raise RecursionError (HTTP 500).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

log = logging.getLogger("app.graphql")
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_MEDIA = "gateway.media_type"  # scope keys: the negotiated media type, the request's sub-response
_SUB_RESPONSE = "gateway.sub_response"
_UTF8 = ("utf-8", "utf8")


@functools.lru_cache(maxsize=256)
def negotiate(accept: str | None) -> str | None:
    """The response media type `accept` asks for (None: neither we offer). The highest q wins;
    on a tie graphql-response+json, then application/json, then a wildcard (answered as JSON).
    Cached: clients send a handful of distinct headers."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for item in accept.split(","):
        media, _, params = item.partition(";")
        media = media.strip().lower()
        rank = {GRAPHQL_RESPONSE: 3, JSON: 2, "application/*": 1, "*/*": 1}.get(media)
        if rank is None:
            continue
        q, charset_ok = 1.0, True
        for param in params.split(";"):
            name, _, value = param.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"').lower()
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif name == "charset" and value not in _UTF8:
                charset_ok = False
        if q <= 0 or not charset_ok:
            continue
        if best is None or (q, rank) > best:
            best, chosen = (q, rank), (GRAPHQL_RESPONSE if rank == 3 else JSON)
    return chosen


class RequestRefused(Exception):
    """A request refused before execution with one coded GraphQL error (persisted documents).
    `status` None is a request error's: 400 under graphql-response+json, 200 under application/json."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.headers = code, message, status, headers

    def response(self, media: str) -> Response:
        status = self.status or (400 if media == GRAPHQL_RESPONSE else 200)
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        return _json_response(body, status, media, self.headers)


def request_error_body(status: int, message: str, code: str = "BAD_REQUEST") -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, "status": status}}]}


def _json_response(body: object, status: int, media_type: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def coded(error: GraphQLError) -> dict[str, Any]:
    """An error as the response shows it, always with a code. The schema's ErrorCodes extension
    codes those that pass its hook; a syntax error does not (Strawberry's ParserCache raises it in
    its own hook, so the operation hooks are skipped), nor would an exception Strawberry caught."""
    formatted = error.formatted
    if error.extensions and "code" in error.extensions:
        return formatted
    if isinstance(error, GraphQLSyntaxError):
        code = "GRAPHQL_PARSE_FAILED"
    elif error.original_error is None:
        code = "GRAPHQL_VALIDATION_FAILED"
    else:
        correlation = uuid.uuid4().hex
        log.error("unexpected error %s outside the operation", correlation, exc_info=error.original_error)
        return {"message": "Internal server error", "extensions": {"code": "INTERNAL", "correlationId": correlation}}
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code}
    return formatted


def _content_type(header: str | None) -> tuple[str, str | None]:
    """`type/subtype` in lower case and the charset parameter, if any (cheaper than email.message)."""
    media, _, params = (header or "").partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


class SpecGraphQL(GraphQL):
    """Strawberry's ASGI view with the specification's media types, status codes and JSON bodies."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        accept = request.headers.get("accept")
        media = negotiate(accept)
        if media is None and not (request.method == "GET" and "text/html" in (accept or "")):
            response = _json_response(
                request_error_body(406, f"Accept must allow {JSON} or {GRAPHQL_RESPONSE}"), 406, JSON
            )
        else:
            scope[_MEDIA] = media or JSON
            try:
                response = await self.run(request)
            except HTTPException as exc:
                headers = {"Allow": "GET, POST"} if exc.status_code == 405 else None
                response = _json_response(request_error_body(exc.status_code, exc.reason), exc.status_code,
                                          scope[_MEDIA], headers)
            except RequestRefused as exc:
                response = exc.response(scope[_MEDIA])
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Strawberry's (a GET without `query` that accepts HTML or */*), except a GET carrying
        `extensions`: a persisted query's hash without its text is an API request (Apollo Client
        sends `Accept: */*`), not a browser asking for GraphiQL."""
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def get_sub_response(self, request: Request) -> Response:  # type: ignore[override]
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = request.scope.get(_MEDIA, JSON)
        request.scope[_SUB_RESPONSE] = sub_response
        return sub_response

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:  # its message says where, never what
            raise HTTPException(400, f"The request is not valid JSON (UTF-8): {exc}") from exc

    def encode_json(self, data: object) -> str:  # type: ignore[override]
        # orjson: several times faster than json.dumps for large responses (str: WebSocket text frames).
        return orjson.dumps(data).decode()

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:  # type: ignore[override]
        if request.method == "GET":
            data: object = self.parse_query_params(request.query_params)
        else:
            media, charset = _content_type(request.content_type)
            if media == JSON and charset in (None, *_UTF8):
                body = await request.get_body()
                if not body.strip():
                    raise HTTPException(400, "The request body is empty: send a JSON object with a `query`")
                data = self.parse_json(body)
            elif media == "multipart/form-data" and self.multipart_uploads_enabled:
                data = await self.parse_multipart(request)
            else:
                raise HTTPException(415, f"Content-Type must be {JSON} (UTF-8) or multipart/form-data")
        return _request_data(data)

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, Any]:  # type: ignore[override]
        """The GraphQL multipart request: `operations` (a JSON object) and `map` (a JSON object from
        part name to the variable paths it fills) are both required, and every mapped part a file."""
        try:
            form = (await request.get_form_data()).form
        except Exception as exc:  # starlette's MultiPartException, ValueError: not a multipart body
            raise HTTPException(400, "Unable to parse the multipart body") from exc
        operations, files_map = form.get("operations"), form.get("map")
        if not isinstance(operations, str) or not isinstance(files_map, str):
            raise HTTPException(400, "A multipart request needs `operations` and `map` fields (JSON text)")
        operations, files_map = self.parse_json(operations), self.parse_json(files_map)
        if not isinstance(operations, dict):
            raise HTTPException(400, "The multipart `operations` must be a JSON object")
        if not isinstance(files_map, dict) or not all(
            isinstance(paths, list) and all(isinstance(p, str) and p.startswith("variables.") for p in paths)
            for paths in files_map.values()
        ):
            raise HTTPException(400, "The multipart `map` must be an object from part name to a list of "
                                     "`variables.…` paths")
        if not isinstance(operations.get("variables"), dict) and files_map:
            raise HTTPException(400, "The multipart `map` points into `variables`, which the operations lack")
        files = {name: _file_part(form.get(name), name) for name in files_map}
        try:
            return replace_placeholders_with_files(operations, files_map, files)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise HTTPException(400, "The multipart `map` names a variable path the operations do not have") \
                from exc

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as exc:
            cause = exc.__cause__
            if isinstance(cause, InvalidOperationTypeError):
                if cause.operation_type is OperationType.SUBSCRIPTION:
                    raise HTTPException(400, "Subscriptions are served over the WebSocket at /graphql "
                                             "(graphql-transport-ws), not over HTTP") from exc
                if kwargs["request_adapter"].method == "GET":
                    raise HTTPException(405, "Mutations must be sent with POST") from exc
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:  # type: ignore[override]
        errors = result.errors
        if not errors:
            response: GraphQLHTTPResponse = {"data": result.data}
        else:
            response = {"data": result.data, "errors": [coded(e) for e in errors]}
            # A request error: nothing executed (parse, validation, limits, variable coercion).
            if result.data is None and all(e.path is None for e in errors) and \
                    request.scope.get(_MEDIA) == GRAPHQL_RESPONSE:
                del response["data"]
                sub_response = request.scope.get(_SUB_RESPONSE)
                if sub_response is not None and not sub_response.status_code:
                    sub_response.status_code = 400
        if result.extensions:
            response["extensions"] = result.extensions
        return response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:  # type: ignore[override]
        """Strawberry's, with orjson's bytes as the body (no str round trip for a large page) and
        the negotiated media type."""
        media = sub_response.media_type or JSON
        response = Response(orjson.dumps(response_data), status_code=200, media_type=media)
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response


def _file_part(value: object, name: str) -> UploadFile | str:
    """A mapped part. One sent without a filename arrives as text: it is passed on, and the Upload
    scalar refuses it as a variable of the wrong type (BAD_USER_INPUT), as it does any other text."""
    if not isinstance(value, UploadFile | str):
        raise HTTPException(400, f"The multipart part `{name}` named in `map` is missing")
    return value


def _request_data(data: object) -> GraphQLRequestData:
    """The request parameters, each of the type the specification gives it (batches are off)."""
    if not isinstance(data, dict):
        raise HTTPException(400, "The request must be a JSON object with a `query` (batching is off)")
    query, variables = data.get("query"), data.get("variables")
    operation_name, extensions = data.get("operationName"), data.get("extensions")
    if not isinstance(query, str | None):
        raise HTTPException(400, "`query` must be a string")
    if not isinstance(operation_name, str | None):
        raise HTTPException(400, "`operationName` must be a string or null")
    if not isinstance(variables, dict | None):
        raise HTTPException(400, "`variables` must be an object or null")
    if not isinstance(extensions, dict | None):
        raise HTTPException(400, "`extensions` must be an object or null")
    return GraphQLRequestData(query=query, variables=variables, operation_name=operation_name,
                              extensions=extensions, protocol="http")
