import { useState } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import type { GroupKind } from "../gql/graphql";
import { Link } from "../router";
import { FormErrors, Loading, Page, requestErrors, SelectField } from "../ui";

const GroupsQuery = graphql(`
  query UserGroupsList($filter: UserGroupFilterInput) {
    userGroups(first: 100, filter: $filter) {
      totalCount
      edges {
        node {
          id
          kind
          name
          description
          pNumber
        }
      }
    }
  }
`);

const GroupQuery = graphql(`
  query UserGroupDetail($id: ID!) {
    userGroup(id: $id) {
      id
      kind
      name
      description
      pNumber
      rights {
        code
        name
      }
      members(first: 100) {
        totalCount
        edges {
          external
          name
          pNumber
          organisation {
            cvr
            name
          }
          node {
            ... on User {
              id
              uuid
              email
            }
            ... on ExternalUser {
              id
              uuid
              email
            }
          }
        }
      }
    }
  }
`);

const KINDS: Record<GroupKind, string> = { SYSTEM: "Systemgruppe", CUSTOM: "Egen gruppe" };

export function GroupsPage() {
  const [kind, setKind] = useState<GroupKind | "">("");
  const [{ data, fetching, error }] = useQuery({
    query: GroupsQuery,
    variables: { filter: { kind: kind || null } },
    requestPolicy: "cache-and-network",
  });
  const groups = data?.userGroups;
  return (
    <Page title="Brugergrupper">
      <div className="filters">
        <SelectField label="Slags" name="kind" value={kind} onChange={(e) => setKind(e.target.value as GroupKind | "")}>
          <option value="">Alle</option>
          <option value="SYSTEM">Systemgrupper (én pr. P-enhed)</option>
          <option value="CUSTOM">Egne grupper</option>
        </SelectField>
      </div>
      <FormErrors errors={requestErrors(error)} />
      <p role="status" aria-live="polite" className="muted">
        {groups ? `${groups.totalCount} ${groups.totalCount === 1 ? "gruppe" : "grupper"}` : ""}
      </p>
      {fetching && !groups ? <Loading /> : null}
      {groups && groups.edges.length ? (
        <table>
          <caption className="visually-hidden">Brugergrupper</caption>
          <thead>
            <tr>
              <th scope="col">Navn</th>
              <th scope="col">Slags</th>
              <th scope="col">P-enhed</th>
            </tr>
          </thead>
          <tbody>
            {groups.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <Link to={`/groups/${encodeURIComponent(node.id)}`}>{node.name}</Link>
                  {node.description ? <span className="muted"> · {node.description}</span> : null}
                </td>
                <td>{KINDS[node.kind]}</td>
                <td>{node.pNumber ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Page>
  );
}

export function GroupDetail({ id }: { id: string }) {
  const [{ data, fetching, error }] = useQuery({ query: GroupQuery, variables: { id } });
  const group = data?.userGroup;
  return (
    <Page title={group?.name ?? "Brugergruppe"}>
      <p>
        <Link to="/groups">← Alle brugergrupper</Link>
      </p>
      <FormErrors errors={requestErrors(error)} />
      {fetching && !data ? <Loading /> : null}
      {data && !group ? <p>Gruppen findes ikke, eller du har ikke adgang til den.</p> : null}
      {group ? (
        <>
          <dl className="facts">
            <div className="pair"><dt>Slags</dt><dd>{KINDS[group.kind]}</dd></div>
            <div className="pair"><dt>P-enhed</dt><dd>{group.pNumber ?? "–"}</dd></div>
            <div className="pair">
              <dt>Rettigheder</dt>
              <dd>{group.rights.length ? group.rights.map((r) => r.name).join(", ") : "Ingen"}</dd>
            </div>
          </dl>
          <h2>Medlemmer ({group.members?.totalCount ?? 0})</h2>
          {group.members && group.members.edges.length ? (
            <table>
              <caption className="visually-hidden">Medlemmer af {group.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Navn</th>
                  <th scope="col">Organisation</th>
                  <th scope="col">P-enhed</th>
                </tr>
              </thead>
              <tbody>
                {group.members.edges.map((m, i) => (
                  <tr key={m.node?.id ?? i}>
                    <td>
                      {!m.external && m.node ? (
                        <Link to={`/users/${encodeURIComponent(m.node.id)}`}>{m.name ?? m.node.uuid}</Link>
                      ) : (
                        (m.name ?? m.node?.uuid ?? "–")
                      )}
                    </td>
                    <td>{m.external && m.organisation ? `${m.organisation.name} (CVR ${m.organisation.cvr}), ekstern` : "Egen organisation"}</td>
                    <td>{m.pNumber ?? "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>Gruppen har ingen medlemmer.</p>
          )}
        </>
      ) : null}
    </Page>
  );
}
