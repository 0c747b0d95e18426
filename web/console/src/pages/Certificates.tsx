import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { CertificateOrderField, CertificateStatus, OrderDirection, RevocationReason, Role } from "../gql/graphql";
import { can } from "../roles";
import { downloadCsv, useToken } from "../download";
import { byField, formatDate, FormErrors, Loading, Page, requestErrors, SelectField, TextField, type FieldErrors } from "../ui";

const PAGE_SIZE = 20;

const CertificatesQuery = graphql(`
  query CertificatesList($first: Int!, $after: String, $filter: CertificateFilter, $orderBy: CertificateOrderInput) {
    certificates(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          uuid
          kind
          type
          status
          name
          email
          serialNumber
          notAfter
          orderedAt
          revokedAt
          revocationReason
        }
      }
    }
  }
`);

const RevokeCertificate = graphql(`
  mutation RevokeCertificate($input: RevokeCertificateInput!) {
    revokeCertificate(input: $input) {
      certificate {
        id
        status
        revokedAt
        revocationReason
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

export const CERTIFICATE_STATUS: Record<CertificateStatus, string> = {
  ORDERED: "Bestilt",
  ISSUED: "Udstedt",
  REVOKED: "Spærret",
  EXPIRED: "Udløbet",
  CANCELLED: "Annulleret",
};

const REASONS: Record<RevocationReason, string> = {
  CONTENT_INCORRECT: "Indholdet er forkert",
  KEY_LOST: "Nøglen er mistet",
  KEY_COMPROMISE_SUSPECTED: "Mistanke om kompromittering af nøglen",
  KEY_DESTROYED: "Nøglen er ødelagt",
  HOLDER_LEFT: "Indehaveren er fratrådt",
};

const ORDERS: Record<string, { field: CertificateOrderField; direction: OrderDirection; label: string }> = {
  newest: { field: "ORDERED_AT", direction: "DESC", label: "Nyeste bestilling først" },
  name: { field: "NAME", direction: "ASC", label: "Navn (A–Å)" },
  expires: { field: "EXPIRES_AT", direction: "ASC", label: "Udløber først" },
};

export function CertificatesPage({ roles }: { roles: Role[] }) {
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState<CertificateStatus | "">("");
  const [order, setOrder] = useState("newest");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const page = cursors.length - 1;
  const { field, direction } = ORDERS[order];
  const [{ data, fetching, error }] = useQuery({
    query: CertificatesQuery,
    variables: { first: PAGE_SIZE, after: cursors[page], filter: { search: search || null, status: status || null },
                 orderBy: { field, direction } },
    requestPolicy: "cache-and-network",
  });
  const list = data?.certificates;
  const manage = can(roles, "manageCertificates");
  const token = useToken();
  const [exportError, setExportError] = useState<string | null>(null);
  const exportCsv = async () => {
    const query = new URLSearchParams({ orderBy: field, direction });
    if (search) query.set("search", search);
    if (status) query.set("status", status);
    setExportError(await downloadCsv(`/exports/certificates.csv?${query}`, token, "certifikater.csv"));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSearch(searchText.trim());
    setCursors([null]);
  };

  return (
    <Page title="Certifikater">
      <form className="filters" onSubmit={submit} role="search" aria-label="Søg efter certifikater">
        <TextField label="Søg" hint="Navn, e-mail, serienummer eller UUID" type="search" name="search" value={searchText}
                   onChange={(e) => setSearchText(e.target.value)} />
        <SelectField label="Status" name="status" value={status}
                     onChange={(e) => { setStatus(e.target.value as CertificateStatus | ""); setCursors([null]); }}>
          <option value="">Alle</option>
          {(Object.keys(CERTIFICATE_STATUS) as CertificateStatus[]).map((s) => (
            <option key={s} value={s}>{CERTIFICATE_STATUS[s]}</option>
          ))}
        </SelectField>
        <SelectField label="Sortering" name="order" value={order} onChange={(e) => { setOrder(e.target.value); setCursors([null]); }}>
          {Object.entries(ORDERS).map(([k, o]) => (
            <option key={k} value={k}>{o.label}</option>
          ))}
        </SelectField>
        <button type="submit">Søg</button>
        <button type="button" className="secondary" onClick={exportCsv}>
          Eksportér CSV
        </button>
      </form>
      <FormErrors errors={requestErrors(error) ?? (exportError ? [exportError] : undefined)} />
      <p role="status" aria-live="polite" className="muted">
        {message ?? (list ? (list.totalCount === 0 ? "Ingen certifikater matcher." : `${list.totalCount} ${list.totalCount === 1 ? "certifikat" : "certifikater"}`) : "")}
      </p>
      {fetching && !list ? <Loading /> : null}
      {list && list.edges.length ? (
        <table>
          <caption className="visually-hidden">Certifikater, side {page + 1}</caption>
          <thead>
            <tr>
              <th scope="col">Navn</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Serienummer</th>
              <th scope="col">Udløber</th>
              {manage ? <th scope="col"><span className="visually-hidden">Handlinger</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {list.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>{node.name}{node.email ? <span className="muted"> · {node.email}</span> : null}</td>
                <td>
                  {node.kind === "USER" ? "Medarbejder" : "Organisation"}
                  {node.type === "QUALIFIED" ? ", kvalificeret" : ""}
                </td>
                <td>{CERTIFICATE_STATUS[node.status]}</td>
                <td>{node.serialNumber ? <code className="serial">{node.serialNumber}</code> : "–"}</td>
                <td>{formatDate(node.notAfter)}</td>
                {manage ? (
                  <td>
                    {node.status === "ISSUED" ? (
                      <button type="button" className="danger" aria-label={`Spær ${node.name}s certifikat`}
                              onClick={() => { setMessage(null); setRevoking({ id: node.id, name: node.name }); }}>
                        Spær…
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <nav className="pager" aria-label="Sider">
        <button type="button" className="secondary" disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Forrige side
        </button>
        <button type="button" className="secondary" disabled={!list?.pageInfo.hasNextPage}
                onClick={() => list?.pageInfo.endCursor && setCursors([...cursors, list.pageInfo.endCursor])}>
          Næste side
        </button>
      </nav>
      {revoking ? (
        <RevokeDialog certificate={revoking} onDone={(done) => { setRevoking(null); if (done) setMessage(done); }} />
      ) : null}
    </Page>
  );
}

export function Modal(props: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={props.onClose}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

function RevokeDialog({ certificate, onDone }: { certificate: { id: string; name: string }; onDone: (message: string | null) => void }) {
  const [reason, setReason] = useState<RevocationReason | "">("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [{ fetching }, revoke] = useMutation(RevokeCertificate);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!reason) return setErrors({ reason: ["Vælg en årsag."] });
    const outcome = await revoke({ input: { certificateId: certificate.id, reason } });
    const payload = outcome.data?.revokeCertificate;
    if (!payload) return setErrors({ "": requestErrors(outcome.error) ?? ["Certifikatet blev ikke spærret."] });
    const found = byField(payload.userErrors, ["reason"]);
    setErrors(found);
    if (!payload.userErrors.length) onDone(`${certificate.name}s certifikat er spærret.`);
  };
  return (
    <Modal title={`Spær ${certificate.name}s certifikat`} onClose={() => onDone(null)}>
      <form onSubmit={submit} noValidate>
        <p>Spærringen er endelig: certifikatet kan ikke bruges igen, og spærrelisten opdateres med det samme.</p>
        <FormErrors errors={errors[""]} />
        <SelectField label="Årsag" name="reason" value={reason} errors={errors.reason}
                     onChange={(e) => setReason(e.target.value as RevocationReason | "")}>
          <option value="">Vælg…</option>
          {(Object.keys(REASONS) as RevocationReason[]).map((r) => (
            <option key={r} value={r}>{REASONS[r]}</option>
          ))}
        </SelectField>
        <div className="actions">
          <button type="submit" className="danger" disabled={fetching}>Spær certifikatet</button>
          <button type="button" className="secondary" onClick={() => onDone(null)}>Annullér</button>
        </div>
      </form>
    </Modal>
  );
}
