"""Every connection is a Relay connection (issue 14): `edges { cursor node }` and `pageInfo`, and a
field returning one takes `first` and `after` (what relay-compiler's @connection asks for). The
partner view's connection pages by its edges' cursors."""

from __future__ import annotations

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type

from app.domain.common.principal import Role
from app.schema import schema
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org
from tests.test_external_members import handle_for
from tests.test_user_groups import active_user, create_group, ok

GQL = schema._schema


def _connections() -> dict[str, GraphQLObjectType]:
    return {name: t for name, t in GQL.type_map.items() if name.endswith("Connection")
            and isinstance(t, GraphQLObjectType)}


def test_every_connection_has_edges_with_cursor_and_node_and_page_info() -> None:
    assert "ExternalMembershipConnection" in _connections()
    for name, t in _connections().items():
        assert {"edges", "pageInfo"} <= set(t.fields), name
        edges = t.fields["edges"].type
        assert isinstance(edges, GraphQLNonNull) and isinstance(edges.of_type, GraphQLList), name
        edge = get_named_type(edges)
        assert isinstance(edge, GraphQLObjectType) and {"cursor", "node"} <= set(edge.fields), name
        assert str(edge.fields["cursor"].type) == "String!", name
        assert str(t.fields["pageInfo"].type) == "PageInfo!", name
        if "nodes" in t.fields:  # a shortcut to the edges' nodes, of the same type
            assert get_named_type(t.fields["nodes"].type) is get_named_type(edge.fields["node"].type), name


def test_every_field_returning_a_connection_takes_first_and_after() -> None:
    connections = set(_connections())
    fields = [(t.name, name, f) for t in GQL.type_map.values() if isinstance(t, GraphQLObjectType)
              for name, f in t.fields.items() if get_named_type(f.type).name in connections]
    assert len(fields) >= len(connections)
    for type_name, name, f in fields:
        assert {"first", "after"} <= set(f.args), f"{type_name}.{name}"


PARTNER_VIEW = """query($after: String, $first: Int) { externalMemberships(first: $first, after: $after) {
  totalCount edges { cursor node { id groupName } } nodes { id }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
ADD = """mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g, externalUserId: $x}) {
  userErrors { code } } }"""


async def test_the_partner_view_pages_by_its_edges_cursors(env: Env, org: OrgFixture) -> None:
    # Given two of the partner's users in two of our groups
    partner = await make_org(env.services, name="Partner")
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    for first_name in ("Erik", "Pia"):
        member = await active_user(env, partner, first_name)
        group = await create_group(env, org, f"Gruppe {first_name}")
        added = ok(await env.gql(ADD, {"g": group, "x": await handle_for(env, org, partner, member)}, token=ua))
        assert added["addExternalUserToGroup"]["userErrors"] == []
    token = token_for(env, partner, Role.ORGANISATION_ADMINISTRATOR)
    # When the partner's administrator reads the view all at once and one edge at a time
    whole = ok(await env.gql(PARTNER_VIEW, {"first": 10}, token=token))["externalMemberships"]
    first = ok(await env.gql(PARTNER_VIEW, {"first": 1}, token=token))["externalMemberships"]
    second = ok(await env.gql(PARTNER_VIEW, {"first": 1, "after": first["pageInfo"]["endCursor"]},
                              token=token))["externalMemberships"]
    # Then the edges carry the nodes, their cursors are the page's, and `after` continues from one
    assert whole["totalCount"] == 2 and len(whole["edges"]) == 2
    assert [e["node"]["id"] for e in whole["edges"]] == [n["id"] for n in whole["nodes"]]
    assert whole["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False,
                                 "startCursor": whole["edges"][0]["cursor"], "endCursor": whole["edges"][1]["cursor"]}
    assert first["edges"] == whole["edges"][:1] and second["edges"] == whole["edges"][1:]
    assert first["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False,
                                 "startCursor": whole["edges"][0]["cursor"], "endCursor": whole["edges"][0]["cursor"]}
    assert second["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True,
                                  "startCursor": whole["edges"][1]["cursor"], "endCursor": whole["edges"][1]["cursor"]}
