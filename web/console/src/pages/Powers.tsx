import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { PowerOfAttorneyDirection, PowerOfAttorneyStatus, Role } from "../gql/graphql";
import { can } from "../roles";
import { byField, formatDate, FormErrors, Loading, Page, requestErrors, SelectField, TextField, type FieldErrors } from "../ui";
import { Modal } from "./Certificates";

const PowersQuery = graphql(`
  query PowersOfAttorney($direction: PowerOfAttorneyDirection!) {
    powersOfAttorney(direction: $direction, first: 100) {
      totalCount
      edges {
        node {
          id
          name
          status
          validFrom
          validUntil
          grantedBy {
            cvr
            name
          }
          grantedTo {
            cvr
            name
          }
          rights {
            code
            name
          }
        }
      }
    }
  }
`);

const RightsQuery = graphql(`
  query RightsCatalogue {
    rightsCatalogue {
      code
      name
      kind
      service
    }
  }
`);

const CreatePower = graphql(`
  mutation CreatePowerOfAttorney($input: CreatePowerOfAttorneyInput!) {
    createPowerOfAttorney(input: $input) {
      powerOfAttorney {
        id
        status
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const RevokePower = graphql(`
  mutation RevokePowerOfAttorney($input: RevokePowerOfAttorneyInput!) {
    revokePowerOfAttorney(input: $input) {
      powerOfAttorney {
        id
        status
        revokedAt
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const STATUS: Record<PowerOfAttorneyStatus, string> = {
  ACTIVE: "Aktiv",
  SCHEDULED: "Planlagt",
  EXPIRED: "Udløbet",
  REVOKED: "Tilbagekaldt",
};

export function PowersPage({ roles }: { roles: Role[] }) {
  const [direction, setDirection] = useState<PowerOfAttorneyDirection>("GRANTED");
  const [{ data, fetching, error }, refetch] = useQuery({ query: PowersQuery, variables: { direction },
                                                          requestPolicy: "cache-and-network" });
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const manage = can(roles, "managePowers") && direction === "GRANTED";
  const list = data?.powersOfAttorney;
  const changed = (text: string) => {
    setMessage(text);
    refetch({ requestPolicy: "network-only" });
  };
  return (
    <Page title="Fuldmagter">
      <div className="filters">
        <SelectField label="Vis" name="direction" value={direction}
                     onChange={(e) => setDirection(e.target.value as PowerOfAttorneyDirection)}>
          <option value="GRANTED">Fuldmagter, vi har givet</option>
          <option value="RECEIVED">Fuldmagter, vi har modtaget</option>
        </SelectField>
      </div>
      <FormErrors errors={requestErrors(error)} />
      <p role="status" aria-live="polite" className="muted">
        {message ?? (list ? (list.totalCount === 1 ? "1 fuldmagt" : `${list.totalCount} fuldmagter`) : "")}
      </p>
      {fetching && !list ? <Loading /> : null}
      {list && list.edges.length ? (
        <table>
          <caption className="visually-hidden">Fuldmagter</caption>
          <thead>
            <tr>
              <th scope="col">Navn</th>
              <th scope="col">{direction === "GRANTED" ? "Givet til" : "Givet af"}</th>
              <th scope="col">Rettigheder</th>
              <th scope="col">Gyldig</th>
              <th scope="col">Status</th>
              {manage ? <th scope="col"><span className="visually-hidden">Handlinger</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {list.edges.map(({ node }) => {
              const other = direction === "GRANTED" ? node.grantedTo : node.grantedBy;
              return (
                <tr key={node.id}>
                  <td>{node.name}</td>
                  <td>{other.name ?? "Ukendt"} (CVR {other.cvr})</td>
                  <td>{node.rights.map((r) => r.name).join(", ")}</td>
                  <td>{formatDate(node.validFrom)} – {node.validUntil ? formatDate(node.validUntil) : "indtil videre"}</td>
                  <td>{STATUS[node.status]}</td>
                  {manage ? (
                    <td>
                      {node.status === "ACTIVE" || node.status === "SCHEDULED" ? (
                        <button type="button" className="danger" aria-label={`Tilbagekald ${node.name}`}
                                onClick={() => { setMessage(null); setRevoking({ id: node.id, name: node.name }); }}>
                          Tilbagekald…
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {manage ? <NewPower onCreated={(name) => changed(`Fuldmagten ${name} er givet.`)} /> : null}
      {revoking ? (
        <RevokeDialog power={revoking} onDone={(text) => { setRevoking(null); if (text) changed(text); }} />
      ) : null}
    </Page>
  );
}

const EMPTY = { receivingCvr: "", name: "", validFrom: "", validUntil: "" };

function NewPower({ onCreated }: { onCreated: (name: string) => void }) {
  const [{ data: catalogue }] = useQuery({ query: RightsQuery });
  const [values, setValues] = useState(EMPTY);
  const [rights, setRights] = useState<string[]>([]);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [{ fetching }, create] = useMutation(CreatePower);
  const set = (k: keyof typeof EMPTY) => (e: { target: { value: string } }) => setValues({ ...values, [k]: e.target.value });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await create({ input: { receivingCvr: values.receivingCvr.trim(), name: values.name.trim(), rights,
      validFrom: values.validFrom || null, validUntil: values.validUntil || null } });
    const payload = outcome.data?.createPowerOfAttorney;
    if (!payload) return setErrors({ "": requestErrors(outcome.error) ?? ["Fuldmagten blev ikke givet."] });
    setErrors(byField(payload.userErrors, ["receivingCvr", "name", "rights", "validFrom", "validUntil"]));
    if (!payload.userErrors.length) {
      onCreated(values.name.trim());
      setValues(EMPTY);
      setRights([]);
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="ny-fuldmagt" className="panel">
      <h2 id="ny-fuldmagt">Giv en fuldmagt</h2>
      <FormErrors errors={errors[""]} />
      <TextField label="Modtagerens CVR-nummer" name="receivingCvr" inputMode="numeric" value={values.receivingCvr}
                 onChange={set("receivingCvr")} errors={errors.receivingCvr} />
      <TextField label="Fuldmagtens navn" name="name" value={values.name} onChange={set("name")} errors={errors.name} />
      <fieldset aria-describedby={errors.rights ? "fuldmagt-rettigheder-fejl" : undefined}>
        <legend>Rettigheder</legend>
        {catalogue?.rightsCatalogue.filter((r) => r.kind === "EXTERNAL").map((r) => (
          <div className="check" key={r.code}>
            <input type="checkbox" id={`ret-${r.code}`} checked={rights.includes(r.code)}
                   onChange={() => setRights(rights.includes(r.code) ? rights.filter((x) => x !== r.code) : [...rights, r.code])} />
            <label htmlFor={`ret-${r.code}`}>{r.name} <span className="muted">({r.service})</span></label>
          </div>
        ))}
        {errors.rights ? <span className="field-error" id="fuldmagt-rettigheder-fejl">{errors.rights.join(" ")}</span> : null}
      </fieldset>
      <TextField label="Gyldig fra (valgfri)" name="validFrom" type="date" value={values.validFrom} onChange={set("validFrom")}
                 errors={errors.validFrom} />
      <TextField label="Gyldig til og med (valgfri)" name="validUntil" type="date" value={values.validUntil}
                 onChange={set("validUntil")} errors={errors.validUntil} />
      <button type="submit" disabled={fetching}>Giv fuldmagt</button>
    </form>
  );
}

function RevokeDialog({ power, onDone }: { power: { id: string; name: string }; onDone: (text: string | null) => void }) {
  const [{ fetching }, revoke] = useMutation(RevokePower);
  const [errors, setErrors] = useState<string[] | undefined>();
  const confirm = async () => {
    const outcome = await revoke({ input: { powerOfAttorneyId: power.id } });
    const payload = outcome.data?.revokePowerOfAttorney;
    if (!payload) return setErrors(requestErrors(outcome.error) ?? ["Fuldmagten blev ikke tilbagekaldt."]);
    if (payload.userErrors.length) return setErrors(payload.userErrors.map((e) => e.message));
    onDone(`Fuldmagten ${power.name} er tilbagekaldt.`);
  };
  return (
    <Modal title={`Tilbagekald ${power.name}?`} onClose={() => onDone(null)}>
      <p>Modtageren mister rettighederne med det samme.</p>
      <FormErrors errors={errors} />
      <div className="actions">
        <button type="button" className="danger" disabled={fetching} onClick={confirm}>Ja, tilbagekald</button>
        <button type="button" className="secondary" onClick={() => onDone(null)}>Annullér</button>
      </div>
    </Modal>
  );
}
