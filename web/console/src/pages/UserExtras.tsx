// The user's authenticators, P-unit and history (the guide's "Authenticators", "P-unit", "History").
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { ActivityType, Authenticator } from "../gql/graphql";
import { formatDateTime, FormErrors, Loading, messageOf, requestErrors, SelectField, TextField } from "../ui";

const SetAuthenticators = graphql(`
  mutation SetUserAuthenticators($input: SetUserAuthenticatorsInput!) {
    setUserAuthenticators(input: $input) {
      user {
        id
        authenticators
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const SetUnit = graphql(`
  mutation SetUserOrganisationUnit($input: SetUserOrganisationUnitInput!) {
    setUserOrganisationUnit(input: $input) {
      user {
        id
        pNumber
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const UnitsQuery = graphql(`
  query OrganisationUnits {
    organisation {
      id
      pUnits {
        pNumber
        name
      }
    }
  }
`);

const HistoryQuery = graphql(`
  query UserHistory($id: ID!, $first: Int!, $after: String, $from: String, $to: String, $types: [ActivityType!], $search: String) {
    user(id: $id) {
      id
      history(first: $first, after: $after, from: $from, to: $to, types: $types, search: $search) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            occurredAt
            type
            actorName
            summary
          }
        }
      }
    }
  }
`);

export const AUTHENTICATORS: Record<Authenticator, string> = {
  PRIVATE_MITID: "Privat MitID",
  MITID_APP: "MitID-app",
  CODE_DISPLAY: "Kodeviser",
  AUDIO_CODE_READER: "Lydkodeviser",
  CHIP: "MitID-chip",
  SHARED_AUTHENTICATOR: "Delt autentifikator",
};

export function Authenticators({ id, current }: { id: string; current: readonly Authenticator[] }) {
  const [chosen, setChosen] = useState<Authenticator[]>([...current]);
  const [errors, setErrors] = useState<string[] | undefined>();
  const [saved, setSaved] = useState(false);
  const [{ fetching }, save] = useMutation(SetAuthenticators);
  const toggle = (a: Authenticator) => {
    setSaved(false);
    setChosen(chosen.includes(a) ? chosen.filter((x) => x !== a) : [...chosen, a]);
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await save({ input: { userId: id, authenticators: chosen } });
    const payload = outcome.data?.setUserAuthenticators;
    if (!payload) return setErrors(requestErrors(outcome.error) ?? ["Autentifikatorerne blev ikke gemt."]);
    setErrors(payload.userErrors.length ? payload.userErrors.map(messageOf) : undefined);
    setSaved(!payload.userErrors.length);
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="autentifikatorer">
      <h2 id="autentifikatorer">Autentifikatorer</h2>
      <FormErrors errors={errors} />
      <fieldset>
        <legend>Brugeren kan logge ind med</legend>
        {(Object.keys(AUTHENTICATORS) as Authenticator[]).map((a) => (
          <div className="check" key={a}>
            <input type="checkbox" id={`auth-${a}`} checked={chosen.includes(a)} onChange={() => toggle(a)} />
            <label htmlFor={`auth-${a}`}>{AUTHENTICATORS[a]}</label>
          </div>
        ))}
      </fieldset>
      <div className="actions">
        <button type="submit" disabled={fetching}>Gem autentifikatorer</button>
        <span role="status" className="muted">{saved ? "Autentifikatorerne er gemt." : ""}</span>
      </div>
    </form>
  );
}

export function OrganisationUnit({ id, current }: { id: string; current: string | null }) {
  const [{ data }] = useQuery({ query: UnitsQuery });
  const [pNumber, setPNumber] = useState(current ?? "");
  const [errors, setErrors] = useState<string[] | undefined>();
  const [saved, setSaved] = useState(false);
  const [{ fetching }, save] = useMutation(SetUnit);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await save({ input: { userId: id, pNumber } });
    const payload = outcome.data?.setUserOrganisationUnit;
    if (!payload) return setErrors(requestErrors(outcome.error) ?? ["P-enheden blev ikke gemt."]);
    setErrors(payload.userErrors.length ? payload.userErrors.map(messageOf) : undefined);
    setSaved(!payload.userErrors.length);
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="p-enhed">
      <h2 id="p-enhed">P-enhed</h2>
      <SelectField label="Brugerens P-enhed" name="pNumber" value={pNumber} errors={errors}
                   onChange={(e) => { setSaved(false); setPNumber(e.target.value); }}>
        {current ? null : <option value="">Ingen</option>}
        {data?.organisation.pUnits.map((u) => (
          <option key={u.pNumber} value={u.pNumber}>{u.pNumber} · {u.name}</option>
        ))}
      </SelectField>
      <div className="actions">
        <button type="submit" disabled={fetching || !pNumber}>Gem P-enhed</button>
        <span role="status" className="muted">{saved ? "P-enheden er gemt." : ""}</span>
      </div>
    </form>
  );
}

const TYPES: Partial<Record<ActivityType, string>> = {
  USER_CREATED: "Bruger oprettet",
  USER_UPDATED: "Bruger rettet",
  AUTHENTICATORS_CHANGED: "Autentifikatorer ændret",
  ORGANISATION_UNIT_CHANGED: "P-enhed ændret",
  ACTIVATION_EMAIL_SENT: "Aktiveringsmail sendt",
  ACTIVATION_CODE_GENERATED: "Aktiveringskode dannet",
  USER_ACTIVATED: "Bruger aktiveret",
  USER_DEACTIVATED: "Bruger deaktiveret",
  DEACTIVATION_SCHEDULED: "Deaktivering planlagt",
  USER_REACTIVATED: "Bruger genaktiveret",
  USER_DELETED: "Bruger slettet",
  CERTIFICATE_ORDERED: "Certifikat bestilt",
  CERTIFICATE_ISSUED: "Certifikat udstedt",
  CERTIFICATE_REVOKED: "Certifikat spærret",
  GROUP_MEMBER_ADDED: "Tilføjet til gruppe",
  GROUP_MEMBER_REMOVED: "Fjernet fra gruppe",
};
const PAGE = 20;

export function History({ id }: { id: string }) {
  const [form, setForm] = useState({ from: "", to: "", type: "", search: "" });
  const [filter, setFilter] = useState(form);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const page = cursors.length - 1;
  const [{ data, fetching, error }, refetch] = useQuery({
    query: HistoryQuery,
    variables: { id, first: PAGE, after: cursors[page], from: filter.from || null, to: filter.to || null,
                 types: filter.type ? [filter.type as ActivityType] : null, search: filter.search || null },
    requestPolicy: "cache-and-network",
  });
  const history = data?.user?.history;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const same = JSON.stringify(form) === JSON.stringify(filter) && page === 0;
    setFilter(form);
    setCursors([null]);
    if (same) refetch({ requestPolicy: "network-only" }); // the same question: asked again all the same
  };
  return (
    <section aria-labelledby="historik">
      <h2 id="historik">Historik</h2>
      <form className="filters" onSubmit={submit} role="search" aria-label="Søg i brugerens historik">
        <TextField label="Fra" name="from" type="date" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} />
        <TextField label="Til og med" name="to" type="date" value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} />
        <SelectField label="Hændelse" name="type" value={form.type} onChange={(e) => setForm({ ...form, type: e.target.value })}>
          <option value="">Alle</option>
          {Object.entries(TYPES).map(([t, label]) => (
            <option key={t} value={t}>{label}</option>
          ))}
        </SelectField>
        <TextField label="Fritekst" name="history-search" type="search" value={form.search}
                   onChange={(e) => setForm({ ...form, search: e.target.value })} />
        <button type="submit">Vis historik</button>
      </form>
      <FormErrors errors={requestErrors(error)} />
      {fetching && !history ? <Loading /> : null}
      <p role="status" aria-live="polite" className="muted">
        {history ? (history.totalCount === 1 ? "1 hændelse" : `${history.totalCount} hændelser`) : ""}
      </p>
      {history && history.edges.length ? (
        <table>
          <caption className="visually-hidden">Brugerens historik, nyeste først</caption>
          <thead>
            <tr>
              <th scope="col">Tidspunkt</th>
              <th scope="col">Hændelse</th>
              <th scope="col">Udført af</th>
              <th scope="col">Beskrivelse</th>
            </tr>
          </thead>
          <tbody>
            {history.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>{formatDateTime(node.occurredAt)}</td>
                <td>{TYPES[node.type] ?? node.type}</td>
                <td>{node.actorName}</td>
                <td>{node.summary}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {history && (page > 0 || history.pageInfo.hasNextPage) ? (
        <nav className="pager" aria-label="Historikkens sider">
          <button type="button" className="secondary" disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
            Nyere
          </button>
          <button type="button" className="secondary" disabled={!history.pageInfo.hasNextPage}
                  onClick={() => history.pageInfo.endCursor && setCursors([...cursors, history.pageInfo.endCursor])}>
            Ældre
          </button>
        </nav>
      ) : null}
    </section>
  );
}
