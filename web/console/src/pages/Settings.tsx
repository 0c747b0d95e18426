import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { NotificationChannel } from "../gql/graphql";
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

const ChannelQuery = graphql(`
  query NotificationChannelSetting {
    notificationSettings {
      channel
    }
  }
`);

const UpdateChannel = graphql(`
  mutation UpdateNotificationChannel($input: UpdateNotificationSettingsInput!) {
    updateNotificationSettings(input: $input) {
      notificationSettings {
        channel
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const CHANNELS: Record<NotificationChannel, string> = {
  IN_APP: "Kun her i konsollen",
  EMAIL: "Kun på e-mail",
  BOTH: "Både her og på e-mail",
};

/** Your own notifications (Menu > Indstillinger > Notifikationer): every role sets its own. */
function NotificationChannelForm() {
  const [{ data }] = useQuery({ query: ChannelQuery });
  const current = data?.notificationSettings.channel;
  const [chosen, setChosen] = useState<NotificationChannel | null>(null);
  const [saved, setSaved] = useState(false);
  const [errors, setErrors] = useState<string[] | undefined>();
  const [{ fetching }, update] = useMutation(UpdateChannel);
  const value = chosen ?? current;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!value) return;
    const outcome = await update({ input: { channel: value } });
    const payload = outcome.data?.updateNotificationSettings;
    if (!payload) return setErrors(requestErrors(outcome.error) ?? ["Valget blev ikke gemt."]);
    setErrors(payload.userErrors.length ? payload.userErrors.map((e) => e.message) : undefined);
    setSaved(!payload.userErrors.length);
  };
  if (!value) return null;
  return (
    <form onSubmit={submit} noValidate aria-labelledby="mine-notifikationer" className="panel">
      <h2 id="mine-notifikationer">Mine notifikationer</h2>
      <FormErrors errors={errors} />
      <fieldset>
        <legend>Hvor vil du have dine notifikationer?</legend>
        {(Object.keys(CHANNELS) as NotificationChannel[]).map((c) => (
          <div className="check" key={c}>
            <input type="radio" id={`kanal-${c}`} name="channel" value={c} checked={value === c}
                   onChange={() => { setSaved(false); setChosen(c); }} />
            <label htmlFor={`kanal-${c}`}>{CHANNELS[c]}</label>
          </div>
        ))}
      </fieldset>
      <div className="actions">
        <button type="submit" disabled={fetching}>Gem mit valg</button>
        <span role="status" className="muted">{saved ? "Dit valg er gemt." : ""}</span>
      </div>
    </form>
  );
}

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
      <NotificationChannelForm />
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
