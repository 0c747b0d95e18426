import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { BillingMethod } from "../gql/graphql";
import { byField, FormErrors, Loading, Page, requestErrors, TextField, yesNo, type FieldErrors } from "../ui";

const BillingQuery = graphql(`
  query Billing {
    billing {
      method
      email
      fixedToNemhandel
      nemhandel {
        ean
        name
        attention
        poReference
      }
      counts {
        users
        billableUsers
        separateAuthenticators
        userCertificates
        organisationCertificates
        qualifiedCertificates
      }
    }
  }
`);

const UpdateBilling = graphql(`
  mutation UpdateBilling($input: UpdateBillingInput!) {
    updateBilling(input: $input) {
      billing {
        method
        email
        fixedToNemhandel
        nemhandel {
          ean
          name
          attention
          poReference
        }
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const METHODS: Record<BillingMethod, string> = {
  NEMHANDEL: "NemHandel (EAN)",
  DIGITAL_POST: "Digital Post",
  EMAIL: "E-mail",
};

/** Organisation administrators change how the organisation is invoiced; user administrators only
 * read it (no control is rendered for them). */
export function BillingPage({ canEdit }: { canEdit: boolean }) {
  const [{ data, fetching, error }] = useQuery({ query: BillingQuery, requestPolicy: "cache-and-network" });
  const b = data?.billing;
  return (
    <Page title="Fakturering">
      <FormErrors errors={requestErrors(error)} />
      {fetching && !b ? <Loading /> : null}
      {b ? (
        <>
          <h2>Betaling</h2>
          {canEdit ? (
            <BillingForm
              method={b.method}
              fixed={b.fixedToNemhandel}
              email={b.email ?? ""}
              ean={b.nemhandel?.ean ?? ""}
              eanName={b.nemhandel?.name ?? ""}
              attention={b.nemhandel?.attention ?? ""}
              poReference={b.nemhandel?.poReference ?? ""}
            />
          ) : null}
          <dl className="facts" hidden={canEdit}>
            <dt>Faktureringsmåde</dt>
            <dd>{METHODS[b.method]}</dd>
            <dt>Fast på NemHandel (offentlig organisation)</dt>
            <dd>{yesNo(b.fixedToNemhandel)}</dd>
            <dt>Faktura-e-mail</dt>
            <dd>{b.email ?? "–"}</dd>
            {b.nemhandel ? (
              <>
                <dt>EAN-nummer</dt>
                <dd>{b.nemhandel.ean ?? "–"}</dd>
                <dt>Navn</dt>
                <dd>{b.nemhandel.name ?? "–"}</dd>
                <dt>Att.</dt>
                <dd>{b.nemhandel.attention ?? "–"}</dd>
                <dt>Ordre-/referencenummer</dt>
                <dd>{b.nemhandel.poReference ?? "–"}</dd>
              </>
            ) : null}
          </dl>
          <h2>Det, prisen beregnes af</h2>
          <table>
            <caption className="visually-hidden">Antal, der danner prisen</caption>
            <tbody>
              <tr><th scope="row">Brugere</th><td>{b.counts.users}</td></tr>
              <tr><th scope="row">Betalingsbrugere (ud over de første tre)</th><td>{b.counts.billableUsers}</td></tr>
              <tr><th scope="row">Separate autentifikatorer</th><td>{b.counts.separateAuthenticators}</td></tr>
              <tr><th scope="row">Medarbejdercertifikater</th><td>{b.counts.userCertificates}</td></tr>
              <tr><th scope="row">Organisationscertifikater</th><td>{b.counts.organisationCertificates}</td></tr>
              <tr><th scope="row">Kvalificerede certifikater</th><td>{b.counts.qualifiedCertificates}</td></tr>
            </tbody>
          </table>
        </>
      ) : null}
    </Page>
  );
}

type FormValues = { email: string; ean: string; eanName: string; attention: string; poReference: string };

function BillingForm(props: FormValues & { method: BillingMethod; fixed: boolean }) {
  const [method, setMethod] = useState<BillingMethod>(props.method);
  const [values, setValues] = useState<FormValues>({ email: props.email, ean: props.ean, eanName: props.eanName,
    attention: props.attention, poReference: props.poReference });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState(false);
  const [{ fetching }, update] = useMutation(UpdateBilling);
  const set = (k: keyof FormValues) => (e: { target: { value: string } }) => {
    setSaved(false);
    setValues({ ...values, [k]: e.target.value });
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const input = method === "NEMHANDEL"
      ? { method, ean: values.ean.trim(), eanName: values.eanName.trim() || null, attention: values.attention.trim() || null,
          poReference: values.poReference.trim() || null }
      : method === "EMAIL" ? { method, email: values.email.trim() } : { method };
    const outcome = await update({ input });
    const payload = outcome.data?.updateBilling;
    if (!payload) return setErrors({ "": requestErrors(outcome.error) ?? ["Faktureringen blev ikke gemt."] });
    setErrors(byField(payload.userErrors, ["method", "ean", "eanName", "attention", "poReference", "email"]));
    setSaved(!payload.userErrors.length);
  };
  const methods = (Object.keys(METHODS) as BillingMethod[]).filter((m) => !props.fixed || m === "NEMHANDEL");
  return (
    <form onSubmit={submit} noValidate aria-label="Fakturering">
      <FormErrors errors={errors[""]} />
      <fieldset aria-describedby={errors.method ? "metode-fejl" : undefined}>
        <legend>Faktureringsmåde{props.fixed ? " (offentlig organisation: altid NemHandel)" : ""}</legend>
        {methods.map((m) => (
          <div className="check" key={m}>
            <input type="radio" id={`metode-${m}`} name="method" checked={method === m}
                   onChange={() => { setSaved(false); setMethod(m); }} />
            <label htmlFor={`metode-${m}`}>{METHODS[m]}</label>
          </div>
        ))}
        {errors.method ? <span className="field-error" id="metode-fejl">{errors.method.join(" ")}</span> : null}
      </fieldset>
      {method === "NEMHANDEL" ? (
        <>
          <TextField label="EAN-nummer" name="ean" inputMode="numeric" value={values.ean} onChange={set("ean")} errors={errors.ean} />
          <TextField label="Navn" name="eanName" value={values.eanName} onChange={set("eanName")} errors={errors.eanName} />
          <TextField label="Att." name="attention" value={values.attention} onChange={set("attention")} errors={errors.attention} />
          <TextField label="Ordre-/referencenummer" name="poReference" value={values.poReference} onChange={set("poReference")}
                     errors={errors.poReference} />
        </>
      ) : null}
      {method === "EMAIL" ? (
        <TextField label="Faktura-e-mail" name="email" type="email" value={values.email} onChange={set("email")} errors={errors.email} />
      ) : null}
      <div className="actions">
        <button type="submit" disabled={fetching}>Gem fakturering</button>
        <span role="status" className="muted">{saved ? "Faktureringen er gemt." : ""}</span>
      </div>
    </form>
  );
}
