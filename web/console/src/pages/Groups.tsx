import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { GroupKind, Role } from "../gql/graphql";
import { can } from "../roles";
import { Link, navigate } from "../router";
import { byField, FormErrors, Loading, messageOf, Page, requestErrors, SelectField, TextField, type FieldErrors } from "../ui";

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

const CreateGroup = graphql(`
  mutation CreateUserGroup($input: CreateUserGroupInput!) {
    createUserGroup(input: $input) {
      group {
        id
        name
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const FindUsers = graphql(`
  query FindUsersForGroup($search: String!) {
    users(first: 10, filter: { search: $search }) {
      edges {
        node {
          id
          uuid
          name
          email
          status
        }
      }
    }
  }
`);

const FindExternal = graphql(`
  query FindExternalUsers($cvr: String!, $email: String!) {
    externalUsers(cvr: $cvr, email: $email) {
      id
      uuid
      name
      email
      organisation {
        cvr
        name
      }
    }
  }
`);

const AddUsers = graphql(`
  mutation AddUsersToGroup($input: AddUsersToGroupInput!) {
    addUsersToGroup(input: $input) {
      group {
        id
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const AddExternal = graphql(`
  mutation AddExternalUserToGroup($input: ExternalMemberInput!) {
    addExternalUserToGroup(input: $input) {
      group {
        id
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const RemoveUser = graphql(`
  mutation RemoveUserFromGroup($input: RemoveUserFromGroupInput!) {
    removeUserFromGroup(input: $input) {
      group {
        id
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const RemoveExternal = graphql(`
  mutation RemoveExternalUserFromGroup($input: ExternalMemberInput!) {
    removeExternalUserFromGroup(input: $input) {
      group {
        id
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const KINDS: Record<GroupKind, string> = { SYSTEM: "Systemgruppe", CUSTOM: "Egen gruppe" };

export function GroupsPage({ roles }: { roles: Role[] }) {
  const [kind, setKind] = useState<GroupKind | "">("");
  const [{ data, fetching, error }] = useQuery({
    query: GroupsQuery,
    variables: { filter: { kind: kind || null } },
    requestPolicy: "cache-and-network",
  });
  const groups = data?.userGroups;
  return (
    <Page title="Brugergrupper">
      {can(roles, "manageGroups") ? <NewGroup /> : null}
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

export function GroupDetail({ id, roles }: { id: string; roles: Role[] }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: GroupQuery, variables: { id } });
  const group = data?.userGroup;
  const [, removeUser] = useMutation(RemoveUser);
  const [, removeExternal] = useMutation(RemoveExternal);
  const [removeErrors, setRemoveErrors] = useState<string[] | undefined>();
  const manage = !!group && group.kind === "CUSTOM" && can(roles, "manageGroupMembers");
  const changed = () => refetch({ requestPolicy: "network-only" });
  const remove = async (memberId: string, external: boolean) => {
    const outcome = external
      ? await removeExternal({ input: { groupId: id, externalUserId: memberId } })
      : await removeUser({ input: { groupId: id, userId: memberId } });
    const payload = outcome.data && ("removeUserFromGroup" in outcome.data ? outcome.data.removeUserFromGroup
      : outcome.data.removeExternalUserFromGroup);
    if (!payload) return setRemoveErrors(requestErrors(outcome.error) ?? ["Medlemmet blev ikke fjernet."]);
    setRemoveErrors(payload.userErrors.length ? payload.userErrors.map(messageOf) : undefined);
    changed();
  };
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
                  {manage ? <th scope="col"><span className="visually-hidden">Handlinger</span></th> : null}
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
                    {manage ? (
                      <td>
                        {m.node ? (
                          <button type="button" className="secondary" aria-label={`Fjern ${m.name ?? m.node.uuid} fra gruppen`}
                                  onClick={() => m.node && remove(m.node.id, m.external)}>
                            Fjern
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>Gruppen har ingen medlemmer.</p>
          )}
          <FormErrors errors={removeErrors} />
          {manage ? (
            <>
              <AddMember groupId={group.id} onAdded={changed} />
              <AddExternalMember groupId={group.id} onAdded={changed} />
            </>
          ) : null}
        </>
      ) : null}
    </Page>
  );
}

function NewGroup() {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [{ fetching }, create] = useMutation(CreateGroup);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await create({ input: { name: name.trim(), description: description.trim() || null } });
    const payload = outcome.data?.createUserGroup;
    if (!payload) return setErrors({ "": requestErrors(outcome.error) ?? ["Gruppen blev ikke oprettet."] });
    setErrors(byField(payload.userErrors, ["name", "description"]));
    if (payload.group && !payload.userErrors.length) navigate(`/groups/${encodeURIComponent(payload.group.id)}`);
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="ny-gruppe" className="panel">
      <h2 id="ny-gruppe">Opret gruppe</h2>
      <FormErrors errors={errors[""]} />
      <TextField label="Gruppens navn" name="name" value={name} onChange={(e) => setName(e.target.value)} errors={errors.name} />
      <TextField label="Beskrivelse (valgfri)" name="description" value={description}
                 onChange={(e) => setDescription(e.target.value)} errors={errors.description} />
      <button type="submit" disabled={fetching}>Opret gruppe</button>
    </form>
  );
}

function AddMember({ groupId, onAdded }: { groupId: string; onAdded: () => void }) {
  const [text, setText] = useState("");
  const [search, setSearch] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [errors, setErrors] = useState<string[] | undefined>();
  const [{ data, fetching }] = useQuery({ query: FindUsers, variables: { search: search ?? "" }, pause: !search,
                                          requestPolicy: "network-only" });
  const [, add] = useMutation(AddUsers);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    setSearch(text.trim() || null);
  };
  const addOne = async (userId: string, name: string) => {
    const outcome = await add({ input: { groupId, userIds: [userId] } });
    const payload = outcome.data?.addUsersToGroup;
    if (!payload) return setErrors(requestErrors(outcome.error) ?? ["Brugeren blev ikke tilføjet."]);
    setErrors(payload.userErrors.length ? payload.userErrors.map(messageOf) : undefined);
    if (!payload.userErrors.length) {
      setMessage(`${name} er tilføjet.`);
      onAdded();
    }
  };
  const found = search ? data?.users.edges : undefined;
  return (
    <section aria-labelledby="tilfoej-medlem" className="panel">
      <h2 id="tilfoej-medlem">Tilføj medlem</h2>
      <form className="filters" onSubmit={submit} role="search" aria-label="Find en bruger i organisationen">
        <TextField label="Find bruger" hint="Navn, e-mail eller bruger-UUID" type="search" name="member-search"
                   value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">Find</button>
      </form>
      <FormErrors errors={errors} />
      <p role="status" className="muted">
        {message ?? (fetching ? "Henter…" : found ? (found.length ? `${found.length} fundet` : "Ingen brugere matcher.") : "")}
      </p>
      {found && found.length ? (
        <ul className="results">
          {found.map(({ node }) => (
            <li key={node.id}>
              <span>{node.name ?? node.uuid} · {node.email ?? "–"}</span>{" "}
              <button type="button" className="secondary" aria-label={`Tilføj ${node.name ?? node.uuid}`}
                      onClick={() => addOne(node.id, node.name ?? node.uuid)}>
                Tilføj
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

/** A partner's ACTIVE user, found by exact CVR and e-mail only (the gateway answers the same whichever is wrong). */
function AddExternalMember({ groupId, onAdded }: { groupId: string; onAdded: () => void }) {
  const [cvr, setCvr] = useState("");
  const [email, setEmail] = useState("");
  const [query, setQuery] = useState<{ cvr: string; email: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [errors, setErrors] = useState<string[] | undefined>();
  const [{ data, fetching, error }] = useQuery({ query: FindExternal, variables: query ?? { cvr: "", email: "" },
                                                 pause: !query, requestPolicy: "network-only" });
  const [, add] = useMutation(AddExternal);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    setQuery({ cvr: cvr.trim(), email: email.trim() });
  };
  const addOne = async (externalUserId: string, name: string) => {
    const outcome = await add({ input: { groupId, externalUserId } });
    const payload = outcome.data?.addExternalUserToGroup;
    if (!payload) return setErrors(requestErrors(outcome.error) ?? ["Brugeren blev ikke tilføjet."]);
    setErrors(payload.userErrors.length ? payload.userErrors.map(messageOf) : undefined);
    if (!payload.userErrors.length) {
      setMessage(`${name} er tilføjet som ekstern bruger.`);
      setQuery(null);
      onAdded();
    }
  };
  const found = query ? data?.externalUsers : undefined;
  return (
    <section aria-labelledby="tilfoej-ekstern" className="panel">
      <h2 id="tilfoej-ekstern">Tilføj ekstern bruger</h2>
      <form className="filters" onSubmit={submit} aria-label="Find en ekstern bruger">
        <TextField label="Organisationens CVR-nummer" name="external-cvr" inputMode="numeric" value={cvr}
                   onChange={(e) => setCvr(e.target.value)} />
        <TextField label="Brugerens e-mail" name="external-email" type="email" value={email}
                   onChange={(e) => setEmail(e.target.value)} />
        <button type="submit">Find ekstern bruger</button>
      </form>
      <FormErrors errors={errors ?? requestErrors(error)} />
      <p role="status" className="muted">
        {message ?? (fetching ? "Henter…" : found ? (found.length ? "" :
          "Ingen aktiv bruger med det CVR-nummer og den e-mail.") : "")}
      </p>
      {found && found.length ? (
        <ul className="results">
          {found.map((u) => (
            <li key={u.id}>
              <span>{u.name ?? u.uuid} · {u.organisation ? `${u.organisation.name} (CVR ${u.organisation.cvr})` : ""}</span>{" "}
              <button type="button" className="secondary" aria-label={`Tilføj ${u.name ?? u.uuid} som ekstern bruger`}
                      onClick={() => addOne(u.id, u.name ?? u.uuid)}>
                Tilføj
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
