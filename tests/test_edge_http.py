"""The gateway's HTTP edge (issue 13, items 1-4): a client's mistakes in the request get a JSON
body with a code and a 4xx (or, for GraphQL request errors under application/json, 200), never a
500, INTERNAL or SERVICE_UNAVAILABLE; media types and status codes as the GraphQL-over-HTTP
specification gives them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from app.domain.common.principal import Role
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, OrgFixture, token_for
from tests.loopback import exchange, post_request, serve

GR = "application/graphql-response+json"


async def post(env: Env, body: Any, *, token: str | None = None, accept: str | None = None,
               content: bytes | None = None, content_type: str = "application/json") -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if accept:
        headers["Accept"] = accept
    raw = content if content is not None else json.dumps(body).encode()
    return await env.client.post("/graphql", content=raw, headers=headers)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


# --- item 1: a syntax error ----------------------------------------------------------------------


async def test_a_syntax_error_is_a_coded_json_error_over_post_and_get(env: Env) -> None:
    for response in (await post(env, {"query": "{"}), await env.client.get("/graphql", params={"query": "{"})):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert codes(response) == ["GRAPHQL_PARSE_FAILED"]
        assert response.json()["data"] is None


async def test_after_a_syntax_error_the_keep_alive_connection_serves_the_next_request(env: Env) -> None:
    async with serve(env.client._transport.app) as base:  # type: ignore[attr-defined]
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            status, body = await exchange(reader, writer, post_request("/graphql", b'{"query": "{"}'))
            assert status == 200 and json.loads(body)["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
            get = b"GET /graphql?query=%7B HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
            status, body = await exchange(reader, writer, get)
            assert status == 200 and json.loads(body)["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
            status, body = await exchange(reader, writer, post_request("/graphql", b'{"query": "{ __typename }"}'))
            assert (status, json.loads(body)["data"]) == (200, {"__typename": "Query"})
        finally:
            writer.close()


# --- item 2: variable coercion -------------------------------------------------------------------

COERCION = {
    "wrong type": ("query($n: Int){ users(first: $n){ totalCount } }", {"n": "ten"}),
    "unknown enum value": ("query($s: UserStatus){ users(filter: {status: $s}){ totalCount } }", {"s": "NOPE"}),
    "missing required variable": ("query($n: Int!){ users(first: $n){ totalCount } }", {}),
    "input missing a required field": (
        "mutation($i: CreateUserInput!){ createUser(input: $i){ userErrors { code } } }", {"i": {"firstName": "A"}}),
    "Upload given a string": (
        "mutation($f: Upload!){ importUsers(input: {file: $f, operation: CREATE}){ userErrors { code } } }",
        {"f": "a;b;c"}),
    "Upload given null": (
        "mutation($f: Upload!){ importUsers(input: {file: $f, operation: CREATE}){ userErrors { code } } }",
        {"f": None}),
}


@pytest.mark.parametrize("case", list(COERCION))
async def test_a_variable_that_does_not_fit_its_type_is_bad_user_input(env: Env, org: OrgFixture, case: str) -> None:
    query, variables = COERCION[case]
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    response = await post(env, {"query": query, "variables": variables}, token=token)
    assert response.status_code == 200, response.text
    assert set(codes(response)) == {"BAD_USER_INPUT"}, response.text
    assert response.json()["data"] is None
    strict = await post(env, {"query": query, "variables": variables}, token=token, accept=GR)
    assert strict.status_code == 400 and strict.headers["content-type"].startswith(GR), strict.text
    assert "data" not in strict.json() and set(codes(strict)) == {"BAD_USER_INPUT"}


async def test_a_multipart_file_part_without_a_filename_is_bad_user_input(env: Env, org: OrgFixture) -> None:
    operations = json.dumps({"query": "mutation($f: Upload!){ importUsers(input: {file: $f, operation: CREATE})"
                                      "{ userErrors { code } } }", "variables": {"f": None}})
    # As gql's streaming mode sends it: the part has a name but no filename, so it arrives as text.
    boundary = "b0undary"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in (("operations", operations), ("map", '{"0": ["variables.f"]}'), ("0", "a;b")))
    response = await env.client.post(
        "/graphql", content=(body + f"--{boundary}--\r\n").encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Authorization": f"Bearer {token_for(env, org, Role.USER_ADMINISTRATOR)}"},
    )
    assert response.status_code == 200, response.text
    assert codes(response) == ["BAD_USER_INPUT"] and "file part" in response.json()["errors"][0]["message"]


# --- item 3: bad requests ------------------------------------------------------------------------

RAW_BODIES = {
    "invalid UTF-8": b'{"query": "{ __typename \xff }"}',
    "a bare string": b'"{ __typename }"',
    "a bare array": b'[{"query": "{ __typename }"}]',
    "a bare number": b"1",
    "3,000 levels of variables": b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 3000 + b"]" * 3000 + b"}}",
    "a lone surrogate": b'{"query": "query($s: String){ users(filter: {search: $s}){ totalCount } }", '
                        b'"variables": {"s": "\\ud800"}}',
    "an empty body": b"",
    "query not a string": b'{"query": 1}',
    "variables not an object": b'{"query": "{ __typename }", "variables": "x"}',
}


@pytest.mark.parametrize("case", list(RAW_BODIES))
async def test_a_body_that_is_not_a_graphql_request_is_bad_request(env: Env, org: OrgFixture, case: str) -> None:
    for accept in (None, GR):
        response = await post(env, None, content=RAW_BODIES[case], accept=accept,
                              token=token_for(env, org, Role.USER_ADMINISTRATOR))
        assert response.status_code == 400, (case, response.text)
        assert response.headers["content-type"].startswith(accept or "application/json")
        assert codes(response) == ["BAD_REQUEST"] and "data" not in response.json()


MULTIPART = {
    "map not an object": {"operations": '{"query": "{ __typename }"}', "map": '"0"'},
    "map missing": {"operations": '{"query": "{ __typename }"}'},
    "map paths not strings": {"operations": '{"query": "{ __typename }", "variables": {}}', "map": '{"0": [1]}'},
    "map into a missing variable path": {"operations": '{"query": "{ __typename }", "variables": {}}',
                                         "map": '{"0": ["variables.a.b"]}'},
    "operations not an object": {"operations": "[1]", "map": "{}"},
    "operations missing": {"map": '{"0": ["variables.f"]}'},
    "operations not JSON": {"operations": "{", "map": "{}"},
}


@pytest.mark.parametrize("case", list(MULTIPART))
async def test_a_malformed_multipart_request_is_bad_request(env: Env, org: OrgFixture, case: str) -> None:
    response = await env.client.post(
        "/graphql", data=MULTIPART[case], files={"0": ("users.csv", b"a;b", "text/csv")},
        headers={"Authorization": f"Bearer {token_for(env, org, Role.USER_ADMINISTRATOR)}"},
    )
    assert response.status_code == 400, (case, response.text)
    assert codes(response) == ["BAD_REQUEST"]


async def test_dates_out_of_range_are_invalid_dates(env: Env, org: OrgFixture) -> None:
    admin = token_for(env, org, Role.USER_ADMINISTRATOR)
    response = await post(env, {"query": '{ activities(filter: {from: "0001-01-01", to: "9999-12-31"}) '
                                         "{ totalCount } }"}, token=token_for(env, org, Role.ORGANISATION_ADMINISTRATOR))
    assert set(codes(response)) == {"BAD_USER_INPUT"}, response.text
    user_id = to_global_id("User", org.people[Role.USER])
    response = await post(env, {"query": 'mutation($u: ID!){ deactivateUser(input: {userId: $u, from: "9999-12-30", '
                                         'until: "9999-12-31"}) { userErrors { field code } } }',
                                "variables": {"u": user_id}}, token=admin)
    assert response.json()["data"]["deactivateUser"]["userErrors"] == [{"field": ["until"], "code": "INVALID_DATE"}]
    export = await env.client.get("/exports/certificates.csv", params={"expiresBefore": "0001-01-01"},
                                  headers={"Authorization": f"Bearer {admin}"})
    assert export.status_code == 400 and export.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


SEARCHES = {
    "users": "query($s: String){ users(filter: {search: $s}){ totalCount } }",
    "certificates": "query($s: String){ certificates(filter: {search: $s}){ totalCount } }",
    "activities": "query($s: String){ activities(filter: {search: $s}){ totalCount } }",
    "userGroups": "query($s: String){ userGroups(filter: {search: $s}){ totalCount } }",
}


@pytest.mark.parametrize("field", list(SEARCHES))
async def test_a_search_of_a_megabyte_is_refused_with_its_limit(env: Env, org: OrgFixture, field: str) -> None:
    token = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    response = await post(env, {"query": SEARCHES[field], "variables": {"s": "x" * 1_000_000}}, token=token)
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "search", "maxLength": 200}, error
    fine = await post(env, {"query": SEARCHES[field], "variables": {"s": "x" * 200}}, token=token)
    assert "errors" not in fine.json(), fine.text


async def test_the_exports_refuse_a_search_over_the_limit(env: Env, org: OrgFixture) -> None:
    headers = {"Authorization": f"Bearer {token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)}"}
    for path in ("/exports/certificates.csv", "/exports/activities.csv"):
        response = await env.client.get(path, params={"search": "x" * 20_000}, headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_marking_a_hundred_thousand_notifications_read_is_refused(env: Env, org: OrgFixture) -> None:
    ids = [to_global_id("Notification", i) for i in range(1, 100_001)]
    response = await post(env, {"query": "mutation($ids: [ID!]){ markNotificationsRead(input: {ids: $ids}) "
                                         "{ marked userErrors { field code } } }", "variables": {"ids": ids}},
                          token=token_for(env, org, Role.USER))
    assert response.json()["data"]["markNotificationsRead"] == {
        "marked": 0, "userErrors": [{"field": ["input", "ids"], "code": "TOO_MANY_IDS"}]}, response.text[:300]
    response = await post(env, {"query": "mutation($ids: [ID!]){ markNotificationsRead(input: {ids: $ids}) "
                                         "{ marked userErrors { code } } }", "variables": {"ids": ids[:1000]}},
                          token=token_for(env, org, Role.USER))
    assert response.json()["data"]["markNotificationsRead"] == {"marked": 0, "userErrors": []}, response.text[:300]


# --- item 4: media types and status codes --------------------------------------------------------


@pytest.mark.parametrize(("accept", "media"), [
    (None, "application/json"), ("application/json", "application/json"), ("*/*", "application/json"),
    (GR, GR), (f"{GR}, application/json;q=0.9", GR), (f"{GR};q=0.5, application/json", "application/json"),
    ("text/html, application/*;q=0.8", "application/json"),
])
async def test_the_response_media_type_follows_accept(env: Env, accept: str | None, media: str) -> None:
    response = await post(env, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 200 and response.headers["content-type"].startswith(media), response.headers
    assert response.json()["data"] == {"__typename": "Query"}


async def test_request_errors_are_400_without_data_only_under_graphql_response_json(env: Env, org: OrgFixture) -> None:
    for query, code in (("{", "GRAPHQL_PARSE_FAILED"), ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED")):
        loose = await post(env, {"query": query}, accept="application/json")
        assert loose.status_code == 200 and loose.json()["data"] is None and codes(loose) == [code]
        strict = await post(env, {"query": query}, accept=GR)
        assert strict.status_code == 400 and "data" not in strict.json() and codes(strict) == [code]
    # A field error is not a request error: data is there, and the status 200.
    field_error = await post(env, {"query": "{ __typename users { totalCount } }"}, accept=GR)
    assert field_error.status_code == 200 and codes(field_error) == ["UNAUTHENTICATED"], field_error.text
    assert "data" in field_error.json()


async def test_the_http_request_itself_wrong_gets_json_and_its_status(env: Env) -> None:
    refused = await post(env, {"query": "{ __typename }"}, accept="application/xml")
    assert refused.status_code == 406 and codes(refused) == ["BAD_REQUEST"]
    for content_type in ("text/plain", "application/graphql", "application/x-www-form-urlencoded",
                         "application/json; charset=latin-1"):
        response = await post(env, {"query": "{ __typename }"}, content_type=content_type)
        assert response.status_code == 415 and codes(response) == ["BAD_REQUEST"], content_type
    mutation = await env.client.get("/graphql", params={"query": "mutation { __typename }"}, headers={"Accept": GR})
    assert mutation.status_code == 405 and mutation.headers["allow"] == "GET, POST" and codes(mutation) == ["BAD_REQUEST"]
    put = await env.client.put("/graphql", json={"query": "{ __typename }"})
    assert put.status_code == 405 and codes(put) == ["BAD_REQUEST"]
    missing = await post(env, {"qeury": "{ __typename }"}, accept=GR)
    assert missing.status_code == 400 and missing.headers["content-type"].startswith(GR) and codes(missing) == [
        "BAD_REQUEST"]


@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json"])
async def test_a_subscription_over_http_is_a_bad_request_pointing_at_the_websocket(
    env: Env, org: OrgFixture, accept: str
) -> None:
    """It used to execute and fail as INTERNAL (graphql-core: null for Subscription.notifications)."""
    response = await env.client.post(
        "/graphql", json={"query": "subscription { notifications { id } }"},
        headers={"Authorization": f"Bearer {token_for(env, org, Role.USER)}", "Accept": accept},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and "WebSocket" in error["message"]
