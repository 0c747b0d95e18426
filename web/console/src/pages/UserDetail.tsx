import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { Role } from "../gql/graphql";
import { can } from "../roles";
import { Link, navigate } from "../router";
import { Authenticators, AUTHENTICATORS, History, OrganisationUnit } from "./UserExtras";
import { byField, formatDate, messageOf, FormErrors, Loading, Page, requestErrors, STATUS_NAMES, TextField, type FieldErrors } from "../ui";

const UserQuery = graphql(`
  query UserDetail($id: ID!) {
    user(id: $id) {
      id
      uuid
      name
      email
      phone
      reference
      status
      identification
      cprMasked
      dateOfBirth
      anonymous
      pNumber
      createdAt
      activatedAt
      authenticators
      deactivation {
        from
        until
      }
    }
  }
`);

const UpdateUser = graphql(`
  mutation UpdateUser($input: UpdateUserInput!) {
    updateUser(input: $input) {
      user {
        id
        email
        phone
        reference
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const DeactivateUser = graphql(`
  mutation DeactivateUser($input: DeactivateUserInput!) {
    deactivateUser(input: $input) {
      user {
        id
        status
        deactivation {
          from
          until
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

const ReactivateUser = graphql(`
  mutation ReactivateUser($input: UserIdInput!) {
    reactivateUser(input: $input) {
      user {
        id
        status
        deactivation {
          from
          until
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

const DeleteUser = graphql(`
  mutation DeleteUser($input: UserIdInput!) {
    deleteUser(input: $input) {
      user {
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

const NewCode = graphql(`
  mutation GenerateActivationCode($input: UserIdInput!) {
    generateActivationCode(input: $input) {
      user {
        id
        status
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

const OrderCertificate = graphql(`
  mutation OrderUserCertificate($input: OrderUserCertificateInput!) {
    orderUserCertificate(input: $input) {
      certificate {
        id
        status
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

const ResendActivation = graphql(`
  mutation ResendActivationEmail($input: UserIdInput!) {
    resendActivationEmail(input: $input) {
      user {
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

export function UserDetail({ id, roles }: { id: string; roles: Role[] }) {
  const [{ data, fetching, error }] = useQuery({ query: UserQuery, variables: { id } });
  const user = data?.user;
  const manage = can(roles, "manageUsers");
  const title = user ? (user.name ?? `Anonym bruger ${user.uuid}`) : "Bruger";

  return (
    <Page title={title}>
      <p>
        <Link to="/users">← Alle brugere</Link>
      </p>
      <FormErrors errors={requestErrors(error)} />
      {fetching && !data ? <Loading /> : null}
      {data && !user ? <p>Brugeren findes ikke, eller du har ikke adgang til den.</p> : null}
      {user ? (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>{STATUS_NAMES[user.status]}</dd>
            <dt>Bruger-UUID</dt>
            <dd>
              <code>{user.uuid}</code>
            </dd>
            <dt>Identifikation</dt>
            <dd>
              {user.identification === "CPR" ? `CPR ${user.cprMasked ?? ""}` : `Fødselsdato ${formatDate(user.dateOfBirth)}`}
            </dd>
            <dt>P-enhed</dt>
            <dd>{user.pNumber ?? "–"}</dd>
            <dt>Oprettet</dt>
            <dd>{formatDate(user.createdAt)}</dd>
            <dt>Aktiveret</dt>
            <dd>{formatDate(user.activatedAt)}</dd>
            {user.deactivation ? (
              <>
                <dt>Deaktiveret</dt>
                <dd>
                  fra {formatDate(user.deactivation.from)}
                  {user.deactivation.until ? ` til og med ${formatDate(user.deactivation.until)}` : ""}
                </dd>
              </>
            ) : null}
          </dl>
          {manage && user.status !== "DELETED" ? (
            <EditUser id={user.id} email={user.email ?? ""} phone={user.phone ?? ""} reference={user.reference ?? ""} />
          ) : (
            <dl className="facts">
              <dt>E-mail</dt>
              <dd>{user.email ?? "–"}</dd>
              <dt>Telefon</dt>
              <dd>{user.phone ?? "–"}</dd>
              <dt>Reference</dt>
              <dd>{user.reference ?? "–"}</dd>
            </dl>
          )}
          {manage ? <Lifecycle id={user.id} name={title} status={user.status} identification={user.identification} /> : null}
          {manage && user.status !== "DELETED" ? (
            <>
              <Authenticators id={user.id} current={user.authenticators} />
              <OrganisationUnit id={user.id} current={user.pNumber ?? null} />
            </>
          ) : (
            <dl className="facts">
              <dt>Autentifikatorer</dt>
              <dd>{user.authenticators.map((a) => AUTHENTICATORS[a]).join(", ") || "–"}</dd>
            </dl>
          )}
          {manage && can(roles, "manageCertificates") && user.status === "ACTIVE" ? <OrderUserCertificate id={user.id} /> : null}
          {can(roles, "viewActivities") ? <History id={user.id} /> : null}
        </>
      ) : null}
    </Page>
  );
}

function EditUser(props: { id: string; email: string; phone: string; reference: string }) {
  const [values, setValues] = useState({ email: props.email, phone: props.phone, reference: props.reference });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState(false);
  const [{ fetching }, update] = useMutation(UpdateUser);
  const set = (name: keyof typeof values) => (e: { target: { value: string } }) => {
    setSaved(false);
    setValues({ ...values, [name]: e.target.value });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await update({
      input: { userId: props.id, email: values.email.trim(), phone: values.phone.trim(), reference: values.reference.trim() },
    });
    const payload = outcome.data?.updateUser;
    if (!payload) return setErrors({ "": requestErrors(outcome.error) ?? ["Ændringerne blev ikke gemt."] });
    setErrors(byField(payload.userErrors, ["email", "phone", "reference"]));
    setSaved(payload.userErrors.length === 0);
  };

  return (
    <form onSubmit={submit} noValidate aria-labelledby="ret-kontakt">
      <h2 id="ret-kontakt">Kontaktoplysninger</h2>
      <FormErrors errors={errors[""]} />
      <TextField label="E-mail" name="email" type="email" value={values.email} onChange={set("email")} errors={errors.email} />
      <TextField label="Telefon" name="phone" type="tel" value={values.phone} onChange={set("phone")} errors={errors.phone} hint="Tom for at fjerne" />
      <TextField label="Reference" name="reference" value={values.reference} onChange={set("reference")} errors={errors.reference} hint="Tom for at fjerne" />
      <div className="actions">
        <button type="submit" disabled={fetching}>
          Gem ændringer
        </button>
        <span role="status" className="muted">
          {saved ? "Ændringerne er gemt." : ""}
        </span>
      </div>
    </form>
  );
}

/** A modal <dialog>: the browser traps the focus and Escape closes it; the opener gets the focus back. */
function Confirm(props: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={props.onClose}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

type Pending = "deactivate" | "delete" | null;

function Lifecycle({ id, name, status, identification }: { id: string; name: string; status: string; identification: string }) {
  const [pending, setPending] = useState<Pending>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState<string | null>(null);
  const [code, setCode] = useState<string | null>(null);
  const [period, setPeriod] = useState({ from: "", until: "" });
  const [, deactivate] = useMutation(DeactivateUser);
  const [, reactivate] = useMutation(ReactivateUser);
  const [, remove] = useMutation(DeleteUser);
  const [, newCode] = useMutation(NewCode);
  const [, resend] = useMutation(ResendActivation);

  const finish = (payload: { userErrors: readonly { field?: readonly string[] | null; code: string; message: string }[] } | undefined,
                  error: Parameters<typeof requestErrors>[0], done: string): boolean => {
    if (!payload) {
      setErrors({ "": requestErrors(error) ?? ["Handlingen mislykkedes."] });
      return false;
    }
    const found = byField(payload.userErrors, ["from", "until"]);
    setErrors(found);
    if (payload.userErrors.length) return false;
    setMessage(done);
    return true;
  };

  const confirmDeactivate = async (event: FormEvent) => {
    event.preventDefault();
    const r = await deactivate({ input: { userId: id, from: period.from || null, until: period.until || null } });
    if (finish(r.data?.deactivateUser, r.error, `${name} er deaktiveret.`)) setPending(null);
  };
  const confirmDelete = async () => {
    const r = await remove({ input: { userId: id } });
    if (finish(r.data?.deleteUser, r.error, `${name} er slettet.`)) {
      setPending(null);
      navigate("/users");
    }
  };

  return (
    <section aria-labelledby="handlinger">
      <h2 id="handlinger">Handlinger</h2>
      <FormErrors errors={pending ? undefined : errors[""]} />
      <p role="status" className="muted">
        {message}
      </p>
      {code ? (
        <p className="success">
          Ny midlertidig aktiveringskode: <strong className="code">{code}</strong> — vises kun denne ene gang.
        </p>
      ) : null}
      <div className="actions">
        {status === "ACTIVE" ? (
          <button type="button" onClick={() => { setErrors({}); setPending("deactivate"); }}>
            Deaktivér…
          </button>
        ) : null}
        {status === "DEACTIVATED" ? (
          <button
            type="button"
            onClick={async () => {
              const r = await reactivate({ input: { userId: id } });
              finish(r.data?.reactivateUser, r.error, `${name} er genaktiveret.`);
            }}
          >
            Genaktivér
          </button>
        ) : null}
        {(status === "CREATED" || status === "PENDING_ACTIVATION") && identification === "CPR" ? (
          <button
            type="button"
            className="secondary"
            onClick={async () => {
              const r = await resend({ input: { userId: id } });
              finish(r.data?.resendActivationEmail, r.error, "Aktiveringsmailen er sendt igen.");
            }}
          >
            Send aktiveringsmail igen
          </button>
        ) : null}
        {(status === "CREATED" || status === "PENDING_ACTIVATION") && identification === "DATE_OF_BIRTH" ? (
          <button
            type="button"
            className="secondary"
            onClick={async () => {
              const r = await newCode({ input: { userId: id } });
              if (finish(r.data?.generateActivationCode, r.error, "Der er dannet en ny aktiveringskode.")) {
                setCode(r.data?.generateActivationCode.temporaryActivationCode ?? null);
              }
            }}
          >
            Dan ny aktiveringskode
          </button>
        ) : null}
        {status !== "DELETED" ? (
          <button type="button" className="danger" onClick={() => { setErrors({}); setPending("delete"); }}>
            Slet…
          </button>
        ) : null}
      </div>

      <Confirm open={pending === "deactivate"} title={`Deaktivér ${name}`} onClose={() => setPending(null)}>
        <form onSubmit={confirmDeactivate} noValidate>
          <FormErrors errors={errors[""]} />
          <TextField label="Fra (tom: nu)" name="from" type="date" value={period.from} onChange={(e) => setPeriod({ ...period, from: e.target.value })} errors={errors.from} />
          <TextField label="Til og med (tom: indtil videre)" name="until" type="date" value={period.until} onChange={(e) => setPeriod({ ...period, until: e.target.value })} errors={errors.until} />
          <div className="actions">
            <button type="submit">Deaktivér</button>
            <button type="button" className="secondary" onClick={() => setPending(null)}>
              Annullér
            </button>
          </div>
        </form>
      </Confirm>
      <Confirm open={pending === "delete"} title={`Slet ${name}?`} onClose={() => setPending(null)}>
        <p>Sletningen kan ikke fortrydes. Brugeren mister adgangen med det samme.</p>
        <FormErrors errors={errors[""]} />
        <div className="actions">
          <button type="button" className="danger" onClick={confirmDelete}>
            Ja, slet brugeren
          </button>
          <button type="button" className="secondary" onClick={() => setPending(null)}>
            Annullér
          </button>
        </div>
      </Confirm>
    </section>
  );
}

/** A standard user certificate with a generated key: the holder is emailed a link and issues it. */
function OrderUserCertificate({ id }: { id: string }) {
  const [{ fetching }, order] = useMutation(OrderCertificate);
  const [errors, setErrors] = useState<string[] | undefined>();
  const [message, setMessage] = useState<string | null>(null);
  const submit = async () => {
    const outcome = await order({ input: { userId: id } });
    const payload = outcome.data?.orderUserCertificate;
    if (!payload) return setErrors(requestErrors(outcome.error) ?? ["Certifikatet blev ikke bestilt."]);
    setErrors(payload.userErrors.length ? payload.userErrors.map(messageOf) : undefined);
    if (!payload.userErrors.length) setMessage("Certifikatet er bestilt. Brugeren får en mail med et link til at hente det.");
  };
  return (
    <section aria-labelledby="certifikat">
      <h2 id="certifikat">Medarbejdercertifikat</h2>
      <FormErrors errors={errors} />
      <p role="status" className="muted">{message}</p>
      <button type="button" className="secondary" disabled={fetching} onClick={submit}>
        Bestil medarbejdercertifikat
      </button>
    </section>
  );
}
