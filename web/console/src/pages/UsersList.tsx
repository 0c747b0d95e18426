import { useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import type { Identification, Role, UserStatus } from "../gql/graphql";
import { can } from "../roles";
import { Link } from "../router";
import { FormErrors, Loading, Page, requestErrors, SelectField, STATUS_NAMES, STATUSES, TextField } from "../ui";

const PAGE_SIZE = 20;

const UsersQuery = graphql(`
  query UsersList($first: Int!, $after: String, $filter: UserFilterInput) {
    users(first: $first, after: $after, filter: $filter, orderBy: { field: NAME, direction: ASC }) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          uuid
          name
          email
          status
          identification
          anonymous
        }
      }
    }
  }
`);

const UnitsForFilter = graphql(`
  query UnitsForUserFilter {
    organisation {
      id
      pUnits {
        pNumber
        name
      }
    }
  }
`);

export function UsersList({ roles }: { roles: Role[] }) {
  const [{ data: units }] = useQuery({ query: UnitsForFilter });
  const [identification, setIdentification] = useState<Identification | "">("");
  const [pNumber, setPNumber] = useState("");
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState<UserStatus | "">("");
  // The cursors of the pages seen so far: "Forrige" goes back one, "Næste" takes the next end cursor.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const page = cursors.length - 1;
  const filter = { search: search || null, status: status || null, identification: identification || null,
                   pNumber: pNumber || null };
  const [{ data, fetching, error }] = useQuery({
    query: UsersQuery,
    variables: { first: PAGE_SIZE, after: cursors[page], filter },
    requestPolicy: "cache-and-network",
  });
  const users = data?.users;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSearch(searchText.trim());
    setCursors([null]);
  };
  const from = page * PAGE_SIZE + 1;
  const to = page * PAGE_SIZE + (users?.edges.length ?? 0);

  return (
    <Page title="Brugere">
      {can(roles, "manageUsers") ? (
        <p>
          <Link to="/users/new" className="button">
            Opret bruger
          </Link>
        </p>
      ) : null}
      <form className="filters" onSubmit={submit} role="search" aria-label="Søg efter brugere">
        <TextField
          label="Søg"
          hint="Navn, e-mail eller bruger-UUID"
          type="search"
          name="search"
          value={searchText}
          onChange={(e) => setSearchText(e.target.value)}
        />
        <SelectField
          label="Status"
          name="status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value as UserStatus | "");
            setCursors([null]);
          }}
        >
          <option value="">Alle</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_NAMES[s]}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Identifikation"
          name="identification"
          value={identification}
          onChange={(e) => {
            setIdentification(e.target.value as Identification | "");
            setCursors([null]);
          }}
        >
          <option value="">Alle</option>
          <option value="CPR">CPR-nummer</option>
          <option value="DATE_OF_BIRTH">Fødselsdato</option>
        </SelectField>
        <SelectField
          label="P-enhed"
          name="pNumber"
          value={pNumber}
          onChange={(e) => {
            setPNumber(e.target.value);
            setCursors([null]);
          }}
        >
          <option value="">Alle</option>
          {units?.organisation.pUnits.map((u) => (
            <option key={u.pNumber} value={u.pNumber}>
              {u.pNumber} · {u.name}
            </option>
          ))}
        </SelectField>
        <button type="submit">Søg</button>
      </form>
      <FormErrors errors={requestErrors(error)} />
      <p role="status" aria-live="polite" className="muted">
        {users
          ? users.totalCount === 0
            ? "Ingen brugere matcher."
            : `Viser ${from}–${to} af ${users.totalCount} ${users.totalCount === 1 ? "bruger" : "brugere"}`
          : fetching
            ? "Henter…"
            : ""}
      </p>
      {fetching && !users ? <Loading /> : null}
      {users && users.edges.length ? (
        <table>
          <caption className="visually-hidden">Brugere, side {page + 1}</caption>
          <thead>
            <tr>
              <th scope="col">Navn</th>
              <th scope="col">E-mail</th>
              <th scope="col">Status</th>
              <th scope="col">Identifikation</th>
            </tr>
          </thead>
          <tbody>
            {users.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <Link to={`/users/${encodeURIComponent(node.id)}`}>{node.name ?? `Anonym bruger ${node.uuid}`}</Link>
                </td>
                <td>{node.email ?? "–"}</td>
                <td>{STATUS_NAMES[node.status]}</td>
                <td>{node.identification === "CPR" ? "CPR" : "Fødselsdato"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <nav className="pager" aria-label="Sider">
        <button type="button" className="secondary" disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Forrige side
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!users?.pageInfo.hasNextPage}
          onClick={() => users?.pageInfo.endCursor && setCursors([...cursors, users.pageInfo.endCursor])}
        >
          Næste side
        </button>
      </nav>
    </Page>
  );
}
