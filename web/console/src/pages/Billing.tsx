import { useQuery } from "urql";
import { graphql } from "../gql";
import type { BillingMethod } from "../gql/graphql";
import { FormErrors, Loading, Page, requestErrors, yesNo } from "../ui";

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

const METHODS: Record<BillingMethod, string> = {
  NEMHANDEL: "NemHandel (EAN)",
  DIGITAL_POST: "Digital Post",
  EMAIL: "E-mail",
};

/** Read-only in this increment for every role that may see it (no control is rendered). */
export function BillingPage() {
  const [{ data, fetching, error }] = useQuery({ query: BillingQuery, requestPolicy: "cache-and-network" });
  const b = data?.billing;
  return (
    <Page title="Fakturering">
      <FormErrors errors={requestErrors(error)} />
      {fetching && !b ? <Loading /> : null}
      {b ? (
        <>
          <h2>Betaling</h2>
          <dl className="facts">
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
