"""GET /exports/users.csv: the organisation's users for reporting tools — streamed in keyset pages,
the same token, policy and filters as `users`, with rights, groups and authenticators, formula-safe,
and without CPR or date of birth."""

from __future__ import annotations

import csv
import io

import pytest

from app.domain.common.principal import Role
from app.entrypoints.http import user_export
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

CREATE = """
mutation($f: String!, $e: String!, $anon: Boolean!, $rights: [String!]!) {
  createUser(input: {firstName: $f, lastName: "Eksport", email: $e, dateOfBirth: "1990-01-01", anonymous: $anon,
    rights: $rights, authenticators: [MITID_APP]}) { user { uuid } userErrors { code field } } }
"""


def table(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


async def _create(env: Env, token: str, first: str, email: str, *, anonymous: bool = False,
                  rights: tuple[str, ...] = ()) -> str:
    body = await env.gql(CREATE, {"f": first, "e": email, "anon": anonymous, "rights": list(rights)}, token=token)
    assert body["data"]["createUser"]["userErrors"] == [], body
    return str(body["data"]["createUser"]["user"]["uuid"])


async def _get(env: Env, token: str | None, query: str = "") -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await env.client.get(f"/exports/users.csv{query}", headers=headers)
    return response.status_code, response.text


async def test_the_export_streams_every_user_of_the_organisation_across_pages(
    env: Env, org: OrgFixture, other_org: OrgFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    formula = await _create(env, ua, '=HYPERLINK("x")', "formel.eksport@example.dk", rights=("SKAT.MOMS",))
    anonymous = await _create(env, ua, "Skjult", "skjult.eksport@example.dk", anonymous=True)
    for i in range(5):
        await _create(env, ua, f"Række{i}", f"raekke{i}.eksport@example.dk")
    await _create(env, token_for(env, other_org, Role.USER_ADMINISTRATOR), "Fremmed", "fremmed.eksport@example.dk")
    monkeypatch.setattr(user_export, "PAGE", 2)  # several keyset pages

    status, text = await _get(env, ua)
    assert status == 200
    rows = table(text)
    assert list(rows[0]) == user_export.USER_HEADER
    count = (await env.gql("{ users(first: 1) { totalCount } }", token=ua))["data"]["users"]["totalCount"]
    assert len(rows) == count >= 7 + len(org.people)
    assert len({r["uuid"] for r in rows}) == len(rows)  # no row twice across pages
    assert not any(r["firstName"] == "Fremmed" for r in rows)
    by_id = {r["uuid"]: r for r in rows}
    assert by_id[formula]["firstName"].startswith("'=HYPERLINK")  # neutralised
    assert by_id[formula]["rights"] == "SKAT.MOMS"
    assert by_id[formula]["authenticators"] == "MITID_APP"
    assert by_id[anonymous]["anonymous"] == "true" and by_id[anonymous]["firstName"] == "Skjult"  # an administrator
    assert "1990-01-01" not in text and "01011990" not in text and "cpr" not in text.lower()  # no CPR, no birth date


async def test_the_users_filters_apply_and_a_bad_filter_is_the_clients_error(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    await _create(env, ua, "Filtreret", "filtreret.eksport@example.dk")
    status, text = await _get(env, ua, "?search=filtreret")
    assert status == 200 and [r["firstName"] for r in table(text)] == ["Filtreret"]
    listed = await env.gql('{ users(first: 5, filter: {search: "filtreret"}) { edges { node { status } } } }', token=ua)
    current = listed["data"]["users"]["edges"][0]["node"]["status"]
    assert current != "ACTIVE"
    status, text = await _get(env, ua, f"?status={current}&search=filtreret")
    assert status == 200 and [r["status"] for r in table(text)] == [current]
    status, text = await _get(env, ua, "?status=ACTIVE&search=filtreret")
    assert status == 200 and table(text) == []
    await _create(env, ua, "Rettighed", "rettighed.eksport@example.dk", rights=("SKAT.MOMS",))
    status, text = await _get(env, ua, "?right=SKAT.MOMS&authenticator=MITID_APP&search=eksport")
    assert status == 200 and [r["firstName"] for r in table(text)] == ["Rettighed"]
    status, text = await _get(env, ua, "?createdFrom=2000-01-01&createdTo=2000-12-31")
    assert status == 200 and table(text) == []
    for query, fragment in (("?status=SOMETIMES", "status"), ("?right=NO.SUCH.RIGHT", "right"),
                            ("?authenticator=PIGEON", "authenticator"), ("?createdFrom=yesterday", "createdFrom"),
                            ("?createdFrom=2026-02-01&createdTo=2026-01-01", "createdTo"), ("?pNumber=12", "P"), ("?colour=red", "colour"),
                            ("?search=" + "x" * 500, "search")):
        status, text = await _get(env, ua, query)
        assert status == 400, (query, text)
        assert '"BAD_USER_INPUT"' in text and fragment.lower() in text.lower(), (query, text)


@pytest.mark.parametrize("role", [Role.ORGANISATION_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR])
async def test_every_role_that_may_list_users_may_export_them(env: Env, org: OrgFixture, role: Role) -> None:
    status, text = await _get(env, token_for(env, org, role))
    assert status == 200 and len(table(text)) >= 1


async def test_people_who_may_not_list_users_get_no_export(env: Env, org: OrgFixture) -> None:
    status, text = await _get(env, token_for(env, org, Role.USER))
    assert status == 403 and '"FORBIDDEN"' in text
    status, text = await _get(env, None)
    assert status == 401 and '"UNAUTHENTICATED"' in text
    status, _ = await _get(env, "not-a-token")
    assert status == 401
