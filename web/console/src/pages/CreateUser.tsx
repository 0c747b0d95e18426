import { useRef, useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { graphql } from "../gql";
import type { Identification } from "../gql/graphql";
import { Link } from "../router";
import { byField, FormErrors, Page, requestErrors, TextField, type FieldErrors } from "../ui";

const CreateUserMutation = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
        uuid
        name
        email
        status
        identification
      }
      temporaryActivationCode
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const FIELDS = ["firstName", "lastName", "email", "phone", "cpr", "dateOfBirth", "reference"] as const;
type Created = { id: string; name: string | null; email: string | null; code: string | null; identification: Identification };

const EMPTY = { firstName: "", lastName: "", email: "", phone: "", cpr: "", dateOfBirth: "", reference: "" };

export function CreateUser() {
  const [values, setValues] = useState(EMPTY);
  const [identification, setIdentification] = useState<Identification>("CPR");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [created, setCreated] = useState<Created | null>(null);
  const [{ fetching }, createUser] = useMutation(CreateUserMutation);
  const result = useRef<HTMLDivElement>(null);
  const form = useRef<HTMLFormElement>(null);

  const set = (name: keyof typeof EMPTY) => (e: { target: { value: string } }) =>
    setValues({ ...values, [name]: e.target.value });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const input = {
      firstName: values.firstName.trim(),
      lastName: values.lastName.trim(),
      email: values.email.trim(),
      phone: values.phone.trim() || null,
      reference: values.reference.trim() || null,
      ...(identification === "CPR" ? { cpr: values.cpr.trim() } : { dateOfBirth: values.dateOfBirth }),
    };
    const outcome = await createUser({ input });
    const payload = outcome.data?.createUser;
    if (!payload) {
      setErrors({ "": requestErrors(outcome.error) ?? ["Brugeren blev ikke oprettet."] });
      return;
    }
    if (payload.userErrors.length || !payload.user) {
      const found = byField(payload.userErrors, FIELDS);
      // "CPR or date of birth" is reported on cpr: shown next to the identification field in use.
      if (identification === "DATE_OF_BIRTH" && found.cpr) {
        found.dateOfBirth = [...(found.dateOfBirth ?? []), ...found.cpr];
        delete found.cpr;
      }
      setErrors(found);
      // The first field in error takes the focus (its message is tied to it by aria-describedby).
      const first = FIELDS.find((f) => found[f]);
      window.setTimeout(() => form.current?.querySelector<HTMLElement>(`[name="${first ?? ""}"]`)?.focus(), 0);
      return;
    }
    setErrors({});
    setValues(EMPTY);
    setCreated({
      id: payload.user.id,
      name: payload.user.name ?? null,
      email: payload.user.email ?? null,
      code: payload.temporaryActivationCode ?? null,
      identification: payload.user.identification,
    });
    window.setTimeout(() => result.current?.focus(), 0);
  };

  return (
    <Page title="Opret bruger">
      {created ? (
        <div className="success" role="status" tabIndex={-1} ref={result}>
          <h2>{created.name} er oprettet</h2>
          {created.code ? (
            <>
              <p>
                Midlertidig aktiveringskode: <strong className="code">{created.code}</strong>
              </p>
              <p>
                Koden vises kun denne ene gang. Giv den til brugeren ad en sikker kanal — den kan ikke findes igen, men
                en ny kan dannes på brugerens side.
              </p>
            </>
          ) : (
            <p>Der er sendt en aktiveringsmail til {created.email}.</p>
          )}
          <p>
            <Link to={`/users/${encodeURIComponent(created.id)}`}>Gå til brugeren</Link> ·{" "}
            <button type="button" className="linklike" onClick={() => setCreated(null)}>
              Opret en bruger mere
            </button>
          </p>
        </div>
      ) : (
        <form ref={form} onSubmit={submit} noValidate aria-label="Ny bruger">
          <FormErrors errors={errors[""]} />
          <TextField label="Fornavn" name="firstName" autoComplete="off" required value={values.firstName} onChange={set("firstName")} errors={errors.firstName} />
          <TextField label="Efternavn" name="lastName" autoComplete="off" required value={values.lastName} onChange={set("lastName")} errors={errors.lastName} />
          <TextField label="E-mail" name="email" type="email" autoComplete="off" required value={values.email} onChange={set("email")} errors={errors.email} />
          <TextField label="Telefon (valgfri)" name="phone" type="tel" autoComplete="off" value={values.phone} onChange={set("phone")} errors={errors.phone} />
          <fieldset>
            <legend>Identifikation</legend>
            <div className="check">
              <input type="radio" id="id-cpr" name="identification" value="CPR" checked={identification === "CPR"} onChange={() => setIdentification("CPR")} />
              <label htmlFor="id-cpr">CPR-nummer (brugeren får en aktiveringsmail)</label>
            </div>
            <div className="check">
              <input type="radio" id="id-dob" name="identification" value="DATE_OF_BIRTH" checked={identification === "DATE_OF_BIRTH"} onChange={() => setIdentification("DATE_OF_BIRTH")} />
              <label htmlFor="id-dob">Fødselsdato (du får en midlertidig aktiveringskode)</label>
            </div>
          </fieldset>
          {identification === "CPR" ? (
            <TextField label="CPR-nummer" name="cpr" hint="DDMMÅÅ-XXXX" inputMode="numeric" autoComplete="off" required value={values.cpr} onChange={set("cpr")} errors={errors.cpr} />
          ) : (
            <TextField label="Fødselsdato" name="dateOfBirth" type="date" required value={values.dateOfBirth} onChange={set("dateOfBirth")} errors={errors.dateOfBirth} />
          )}
          <TextField label="Reference (valgfri)" name="reference" autoComplete="off" value={values.reference} onChange={set("reference")} errors={errors.reference} />
          <div className="actions">
            <button type="submit" disabled={fetching}>
              {fetching ? "Opretter…" : "Opret bruger"}
            </button>
            <Link to="/users">Annullér</Link>
          </div>
        </form>
      )}
    </Page>
  );
}
