import { useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { BulkOperation } from "../gql/graphql";
import { Link } from "../router";
import { FormErrors, messageOf, Page, requestErrors, SelectField } from "../ui";

const ImportUsers = graphql(`
  mutation ImportUsers($input: ImportUsersInput!) {
    importUsers(input: $input) {
      job {
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

const JobQuery = graphql(`
  query BulkJobProgress($id: ID!) {
    bulkJob(id: $id) {
      id
      operation
      dryRun
      status
      fileName
      errorCount
      progress {
        processed
        total
      }
      result {
        created
        updated
        deleted
        unchanged
        total
        dryRun
      }
      rowErrors(first: 500) {
        line
        column
        code
        message
      }
    }
  }
`);

const SendForActivation = graphql(`
  mutation SendImportedForActivation($input: SendUsersForActivationInput!) {
    sendUsersForActivation(input: $input) {
      sent {
        id
        status
      }
      needsIndividualSending {
        id
        uuid
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

const OPERATIONS: Record<BulkOperation, string> = { CREATE: "Opret brugere", UPDATE: "Ret brugere", DELETE: "Slet brugere" };
const POLL_MS = 400;

export function ImportPage() {
  const [operation, setOperation] = useState<BulkOperation>("CREATE");
  const [dryRun, setDryRun] = useState(false);
  const [file, setFile] = useState<File | null>(null);
  const [errors, setErrors] = useState<{ file?: string[]; form?: string[] }>({});
  const [jobId, setJobId] = useState<string | null>(null);
  const [{ fetching: uploading }, upload] = useMutation(ImportUsers);
  const fileInput = useRef<HTMLInputElement>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) {
      setErrors({ file: ["Vælg en CSV-fil."] });
      fileInput.current?.focus();
      return;
    }
    setJobId(null);
    const outcome = await upload({ input: { file, operation, dryRun } });
    const payload = outcome.data?.importUsers;
    if (!payload) return setErrors({ form: requestErrors(outcome.error) ?? ["Filen blev ikke modtaget."] });
    if (payload.userErrors.length || !payload.job) {
      setErrors({ file: payload.userErrors.map(messageOf) });
      return;
    }
    setErrors({});
    setJobId(payload.job.id);
  };

  return (
    <Page title="Importér brugere">
      <p>
        Hent en skabelon, udfyld den i et regneark, og gem den som CSV (semikolonsepareret):{" "}
        <a href="/templates/users-create.csv" download>opret</a>, <a href="/templates/users-update.csv" download>ret</a>,{" "}
        <a href="/templates/users-delete.csv" download>slet</a>. Alle rækker gemmes, eller ingen.
      </p>
      <form onSubmit={submit} noValidate aria-label="Importér en CSV-fil">
        <FormErrors errors={errors.form} />
        <div className="field">
          <label htmlFor="import-file">CSV-fil</label>
          <input id="import-file" ref={fileInput} type="file" name="file" accept=".csv,text/csv"
                 aria-invalid={errors.file?.length ? true : undefined}
                 aria-describedby={errors.file?.length ? "import-file-fejl" : undefined}
                 onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          {errors.file?.length ? <span className="field-error" id="import-file-fejl">{errors.file.join(" ")}</span> : null}
        </div>
        <SelectField label="Handling" name="operation" value={operation}
                     onChange={(e) => setOperation(e.target.value as BulkOperation)}>
          {(Object.keys(OPERATIONS) as BulkOperation[]).map((op) => (
            <option key={op} value={op}>{OPERATIONS[op]}</option>
          ))}
        </SelectField>
        <div className="check">
          <input type="checkbox" id="import-dry" checked={dryRun} onChange={() => setDryRun(!dryRun)} />
          <label htmlFor="import-dry">Prøvekørsel: kontrollér filen uden at gemme noget</label>
        </div>
        <div className="actions">
          <button type="submit" disabled={uploading}>{uploading ? "Sender filen…" : "Importér"}</button>
        </div>
      </form>
      {jobId ? <Job id={jobId} /> : null}
    </Page>
  );
}

function Job({ id }: { id: string }) {
  const [{ data, error }, refetch] = useQuery({ query: JobQuery, variables: { id }, requestPolicy: "network-only" });
  const job = data?.bulkJob;
  const done = job?.status === "SUCCEEDED" || job?.status === "FAILED";
  // The job runs in the background: asked again until it has finished.
  useEffect(() => {
    if (done) return;
    const timer = window.setTimeout(() => refetch({ requestPolicy: "network-only" }), POLL_MS);
    return () => window.clearTimeout(timer);
  }, [data, done, refetch]);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (done) heading.current?.focus();
  }, [done]);

  if (!job) return <FormErrors errors={requestErrors(error)} />;
  const total = job.progress.total ?? undefined;
  const processed = job.status === "SUCCEEDED" && total !== undefined ? total : job.progress.processed;
  return (
    <section aria-labelledby="job-titel" className="panel">
      <h2 id="job-titel" ref={heading} tabIndex={-1}>
        {job.status === "SUCCEEDED" ? "Importen er færdig" : job.status === "FAILED" ? "Importen blev afvist" : "Importen kører"}
        {job.dryRun ? " (prøvekørsel)" : ""}
      </h2>
      <div className="field">
        <label htmlFor="job-progress">Fremdrift</label>
        <progress id="job-progress" max={total ?? 1} value={total === undefined ? undefined : processed}
                  aria-describedby="job-progress-tekst" />
        <span id="job-progress-tekst" className="muted">
          {total === undefined ? "Filen læses…" : `${processed} af ${total} rækker`}
        </span>
      </div>
      {job.status === "FAILED" ? (
        <>
          <p role="alert" className="alert">
            {job.errorCount === 1 ? "Filen har 1 fejl" : `Filen har ${job.errorCount} fejl`}. Intet er gemt — ret filen, og
            importér den igen.
          </p>
          <table>
            <caption>Fejl i filen</caption>
            <thead>
              <tr>
                <th scope="col">Linje</th>
                <th scope="col">Kolonne</th>
                <th scope="col">Fejl</th>
              </tr>
            </thead>
            <tbody>
              {job.rowErrors.map((e, i) => (
                <tr key={i}>
                  <td>{e.line ?? "–"}</td>
                  <td>{e.column ?? "–"}</td>
                  <td>{messageOf(e)} <span className="muted">({e.code})</span></td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {job.status === "SUCCEEDED" && job.result ? (
        <>
          <p role="status">
            {job.result.total} rækker: {job.result.created} oprettet, {job.result.updated} rettet, {job.result.deleted} slettet,{" "}
            {job.result.unchanged} uændret{job.result.dryRun ? " — prøvekørsel, intet er gemt" : ""}.
          </p>
          {job.operation === "CREATE" && !job.result.dryRun && job.result.created > 0 ? <SendImported /> : null}
        </>
      ) : null}
    </section>
  );
}

function SendImported() {
  const [{ fetching, data, error }, send] = useMutation(SendForActivation);
  const payload = data?.sendUsersForActivation;
  return (
    <div>
      <p>De importerede brugere venter som «Oprettet», til de sendes til aktivering.</p>
      <FormErrors errors={payload?.userErrors.length ? payload.userErrors.map(messageOf) : requestErrors(error)} />
      {payload && !payload.userErrors.length ? (
        <div role="status" className="success">
          <p>{payload.sent.length} brugere med CPR-nummer har fået en aktiveringsmail.</p>
          {payload.needsIndividualSending.length ? (
            <>
              <p>
                {payload.needsIndividualSending.length} brugere med fødselsdato skal sendes én ad gangen (hver får en
                midlertidig kode) fra brugerens side:
              </p>
              <ul>
                {payload.needsIndividualSending.map((u) => (
                  <li key={u.id}><Link to={`/users/${encodeURIComponent(u.id)}`}>{u.name ?? u.uuid}</Link></li>
                ))}
              </ul>
            </>
          ) : null}
        </div>
      ) : (
        <button type="button" disabled={fetching} onClick={() => send({ input: { allImported: true } })}>
          Send til aktivering
        </button>
      )}
    </div>
  );
}
