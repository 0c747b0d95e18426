"""A hostile client's secrets never reach the log: a sequence of failed requests carrying a CPR
number, passwords, activation codes and tokens (inline and in variables) runs through the app while
every log record is captured (caplog at DEBUG, and the JSON lines of `serve`'s formatter); none of
the secrets appears, client errors are INFO without a stack, and nothing is logged at ERROR."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import pytest

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from app.observability import JsonFormatter
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

CPR = "010190-9871"
CPR_DIGITS = "0101909871"
PASSWORD = "Hemmeligt-Kodeord-4711"
CODE = "ACTCODE-93X7-QQ"
ACTIVATION_TOKEN = "activation-token-Zk3Pq9Lm2Rt8"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON formatter `mitid-gateway serve` installs, on the root logger for this test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _hostile_requests(jwt: str, foreign_jwt: str) -> list[tuple[str, dict[str, object], str | None]]:
    """(query, variables, bearer token) — each one fails in its own way."""
    gid = "VXNlcjox"  # a global id of nothing
    return [
        # Inline CPR with a field the input does not have: validation error.
        (f'mutation {{ createUser(input: {{firstName: "A", lastName: "B", email: "a@example.dk", '
         f'cpr: "{CPR}", bogus: 1}}) {{ userErrors {{ code }} }} }}', {}, jwt),
        # Inline CPR of the wrong type (number where a string is expected) next to a valid one.
        (f'mutation {{ createUser(input: {{firstName: "A", lastName: "B", email: "{CPR}@x.dk", cpr: {CPR_DIGITS}}}) '
         '{ userErrors { code } } }', {}, jwt),
        # A syntax error in issueUserCertificate with the password inline.
        (f'mutation {{ issueUserCertificate(input: {{certificateId: "{gid}", password: "{PASSWORD}" '
         '{ userErrors { code } } }', {}, jwt),
        # The password as a variable of the wrong type, and an unknown variable holding a JWT.
        ('mutation($p: Int) { issueUserCertificate(input: {certificateId: "x", password: $p}) { userErrors { code } } }',
         {"p": PASSWORD, "t": jwt}, jwt),
        # A JWT in a variable where an Int is expected, and a CPR where an enum is.
        ("query($n: Int, $s: UserStatus) { users(first: $n, filter: {status: $s}) { totalCount } }",
         {"n": jwt, "s": CPR}, jwt),
        # A CPR inside an input variable with a bogus field and a missing required one.
        ("mutation($in: CreateUserInput!) { createUser(input: $in) { userErrors { code } } }",
         {"in": {"firstName": "A", "cpr": CPR, "bogus": PASSWORD}}, jwt),
        # Activation with a wrong code and a wrong token (public).
        ("mutation($c: String, $u: ID) { activateUser(input: {userId: $u, code: $c}) { userErrors { code } } }",
         {"c": CODE, "u": gid}, None),
        (f'mutation {{ activateUser(input: {{token: "{ACTIVATION_TOKEN}"}}) {{ userErrors {{ code }} }} }}', {}, None),
        # Forbidden: a plain user's token asking for an administrator's mutation, CPR inline.
        (f'mutation {{ createUser(input: {{firstName: "A", lastName: "B", email: "c@example.dk", cpr: "{CPR}"}}) '
         '{ userErrors { code } } }', {}, foreign_jwt),
        # Bad tokens.
        ("{ viewer { roles } }", {}, jwt[:-4] + "AAAA"),
        ("{ viewer { roles } }", {}, f"{PASSWORD}.{CODE}.{CPR}"),
        # Over the limits, CPR in the search text.
        ("query($s: String) { a: users(first: 100000, filter: {search: $s}) { totalCount } }", {"s": CPR}, jwt),
        # Unknown operation name carrying a CPR.
        ("query Q { viewer { roles } }", {}, jwt),
    ]


async def test_a_hostile_sequence_leaves_no_secret_in_any_log_line(
    env: Env, org: OrgFixture, caplog: pytest.LogCaptureFixture, json_log: io.StringIO
) -> None:
    admin = token_for(env, org, Role.USER_ADMINISTRATOR)
    plain = token_for(env, org, Role.USER)
    stranger = sign_token(env.settings, uuid.uuid4(), org.cvr, [Role.USER_ADMINISTRATOR])
    caplog.set_level(logging.DEBUG)
    codes: list[str] = []
    statuses: list[int] = []
    for i, (query, variables, token) in enumerate(_hostile_requests(admin, plain)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body: dict[str, object] = {"query": query, "variables": variables}
        if i == len(_hostile_requests(admin, plain)) - 1:
            body["operationName"] = f"Q{CPR}"
        response = await env.client.post("/graphql", json=body, headers=headers)
        statuses.append(response.status_code)
        if response.headers.get("content-type", "").startswith("application/"):
            codes += [e.get("extensions", {}).get("code", "?") for e in response.json().get("errors") or []]
    assert (await env.gql("{ viewer { roles } }", token=stranger))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await env.client.get(f"/activate?token={ACTIVATION_TOKEN}")).status_code == 200
    assert (await env.client.post("/activate", data={"token": ACTIVATION_TOKEN})).status_code == 400
    # The test's own HTTP client (httpx) logs the URLs it requests; everything else is the server's.
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    json_lines = [line for line in json_log.getvalue().splitlines() if '"logger": "httpx"' not in line]
    captured = "\n".join(formatter.format(r) for r in server) + "\n".join(json_lines)
    assert "graphql" in captured  # the access lines were captured: the scan below means something
    secrets = [CPR, CPR_DIGITS, PASSWORD, CODE, ACTIVATION_TOKEN, admin, plain, stranger, admin.split(".")[1],
               "bogus", "issueUserCertificate(input"]
    leaked = [s for s in secrets if s in captured]
    assert leaked == [], [line for line in captured.splitlines() if any(s in line for s in leaked)][:5]
    assert [r for r in server if r.levelno >= logging.ERROR] == []
    assert [r for r in server if r.exc_info and r.levelno < logging.ERROR] == []
    assert all(status < 500 for status in statuses), statuses
    assert "INTERNAL" not in codes, codes


async def test_an_internal_error_is_logged_at_error_with_a_stack_and_no_query_text(
    env: Env, org: OrgFixture, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our own bug (here: a read failing) is the one thing at ERROR, with the stack."""
    from app.persistence import organisations

    async def broken(*args: object) -> object:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(organisations, "load_organisation", broken)
    caplog.set_level(logging.DEBUG)
    body = await env.gql(f'query Q {{ organisation {{ name }} a: __typename @include(if: true) }} # {CPR}',
                         token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "a bug of ours" in caplog.text
    assert CPR not in caplog.text and "organisation { name }" not in caplog.text


def test_the_json_access_line_of_uvicorn_has_no_query_string() -> None:
    """`serve` logs uvicorn's access lines through the JSON formatter: the activation link's token
    and an export's search text stay out."""
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/activate?token={ACTIVATION_TOKEN}&search={CPR}", "1.1", 200), None,
    )
    line = JsonFormatter().format(record)
    assert ACTIVATION_TOKEN not in line and CPR not in line
    assert '"GET /activate HTTP/1.1\\" 200' in line
