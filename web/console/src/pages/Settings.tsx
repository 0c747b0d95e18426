import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { byField, CheckField, FormErrors, Loading, Page, requestErrors, SelectField, yesNo, type FieldErrors } from "../ui";

const SettingsQuery = graphql(`
  query Settings {
    organisation {
      id
      pUnits {
        pNumber
        name
      }
    }
    settings {
      defaultPNumber
      defaultSeNumber
      userCreation {
        employeesMayRequestUser
        anonymityAllowed
        requiredFields
      }
      authenticators {
        privateMitidAllowed
        allowed
      }
      certificates {
        userCertificates
        organisationCertificates
        qualified
      }
    }
  }
`);

const UpdateSettings = graphql(`
  mutation UpdateOrganisationSettings($input: UpdateOrganisationSettingsInput!) {
    updateOrganisationSettings(input: $input) {
      settings {
        defaultPNumber
        defaultSeNumber
        userCreation {
          employeesMayRequestUser
          anonymityAllowed
          requiredFields
        }
        authenticators {
          privateMitidAllowed
          allowed
        }
        certificates {
          userCertificates
          organisationCertificates
          qualified
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

type Flags = {
  employeesMayRequestUser: boolean;
  anonymityAllowed: boolean;
  privateMitidAllowed: boolean;
  userCertificates: boolean;
  organisationCertificates: boolean;
  qualified: boolean;
};

const LABELS: Record<keyof Flags, string> = {
  employeesMayRequestUser: "Medarbejdere må selv anmode om en bruger",
  anonymityAllowed: "Anonyme brugere er tilladt",
  privateMitidAllowed: "Privat MitID må bruges",
  userCertificates: "Medarbejdercertifikater",
  organisationCertificates: "Organisationscertifikater",
  qualified: "Kvalificerede certifikater",
};

/** Everyone sees the settings; only organisation administrators get controls. */
export function SettingsPage({ canEdit }: { canEdit: boolean }) {
  const [{ data, fetching, error }] = useQuery({ query: SettingsQuery });
  const s = data?.settings;
  const flags: Flags | null = s
    ? {
        employeesMayRequestUser: s.userCreation.employeesMayRequestUser,
        anonymityAllowed: s.userCreation.anonymityAllowed,
        privateMitidAllowed: s.authenticators.privateMitidAllowed,
        userCertificates: s.certificates.userCertificates,
        organisationCertificates: s.certificates.organisationCertificates,
        qualified: s.certificates.qualified,
      }
    : null;
  return (
    <Page title="Indstillinger">
      <FormErrors errors={requestErrors(error)} />
      {fetching && !s ? <Loading /> : null}
      {s && flags && data ? (
        canEdit ? (
          <SettingsForm
            flags={flags}
            defaultPNumber={s.defaultPNumber ?? ""}
            pUnits={data.organisation.pUnits}
          />
        ) : (
          <>
            <p className="muted">Kun organisationsadministratorer kan ændre indstillingerne.</p>
            <dl className="facts">
              {(Object.keys(LABELS) as (keyof Flags)[]).map((k) => (
                <div key={k} className="pair">
                  <dt>{LABELS[k]}</dt>
                  <dd>{yesNo(flags[k])}</dd>
                </div>
              ))}
              <div className="pair">
                <dt>Standard-P-enhed</dt>
                <dd>{s.defaultPNumber ?? "–"}</dd>
              </div>
            </dl>
          </>
        )
      ) : null}
    </Page>
  );
}

function SettingsForm(props: { flags: Flags; defaultPNumber: string; pUnits: readonly { pNumber: string; name: string }[] }) {
  const [flags, setFlags] = useState(props.flags);
  const [pNumber, setPNumber] = useState(props.defaultPNumber);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState(false);
  const [{ fetching }, update] = useMutation(UpdateSettings);
  const toggle = (k: keyof Flags) => () => {
    setSaved(false);
    setFlags({ ...flags, [k]: !flags[k] });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await update({
      input: {
        userCreation: { employeesMayRequestUser: flags.employeesMayRequestUser, anonymityAllowed: flags.anonymityAllowed },
        authenticators: { privateMitidAllowed: flags.privateMitidAllowed },
        certificates: {
          userCertificates: flags.userCertificates,
          organisationCertificates: flags.organisationCertificates,
          qualified: flags.qualified,
        },
        defaultPNumber: pNumber,
      },
    });
    const payload = outcome.data?.updateOrganisationSettings;
    if (!payload) return setErrors({ "": requestErrors(outcome.error) ?? ["Indstillingerne blev ikke gemt."] });
    setErrors(byField(payload.userErrors, ["defaultPNumber"]));
    setSaved(payload.userErrors.length === 0);
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Organisationens indstillinger">
      <FormErrors errors={errors[""]} />
      <fieldset>
        <legend>Brugeroprettelse</legend>
        <CheckField label={LABELS.employeesMayRequestUser} name="employeesMayRequestUser" checked={flags.employeesMayRequestUser} onChange={toggle("employeesMayRequestUser")} />
        <CheckField label={LABELS.anonymityAllowed} name="anonymityAllowed" checked={flags.anonymityAllowed} onChange={toggle("anonymityAllowed")} />
      </fieldset>
      <fieldset>
        <legend>Autentifikatorer</legend>
        <CheckField label={LABELS.privateMitidAllowed} name="privateMitidAllowed" checked={flags.privateMitidAllowed} onChange={toggle("privateMitidAllowed")} />
      </fieldset>
      <fieldset>
        <legend>Certifikater</legend>
        <CheckField label={LABELS.userCertificates} name="userCertificates" checked={flags.userCertificates} onChange={toggle("userCertificates")} />
        <CheckField label={LABELS.organisationCertificates} name="organisationCertificates" checked={flags.organisationCertificates} onChange={toggle("organisationCertificates")} />
        <CheckField label={LABELS.qualified} name="qualified" checked={flags.qualified} onChange={toggle("qualified")} />
      </fieldset>
      <SelectField label="Standard-P-enhed" name="defaultPNumber" value={pNumber} onChange={(e) => { setSaved(false); setPNumber(e.target.value); }} errors={errors.defaultPNumber}>
        <option value="">Ingen</option>
        {props.pUnits.map((u) => (
          <option key={u.pNumber} value={u.pNumber}>
            {u.pNumber} · {u.name}
          </option>
        ))}
      </SelectField>
      <div className="actions">
        <button type="submit" disabled={fetching}>
          Gem indstillinger
        </button>
        <span role="status" className="muted">
          {saved ? "Indstillingerne er gemt." : ""}
        </span>
      </div>
    </form>
  );
}
