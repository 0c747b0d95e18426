import { useQuery } from "urql";
import { graphql } from "../gql";
import type { Role, UserStatus } from "../gql/graphql";
import { can } from "../roles";
import { Link } from "../router";
import { FormErrors, Loading, Page, requestErrors, STATUS_NAMES } from "../ui";

// The organisation's counts: one request, a totalCount per status (first: 1 keeps each tiny).
const DashboardQuery = graphql(`
  query Dashboard {
    organisation {
      id
      name
      cvr
      pUnits {
        pNumber
        name
      }
    }
    all: users(first: 1) {
      totalCount
    }
    created: users(first: 1, filter: { status: CREATED }) {
      totalCount
    }
    pending: users(first: 1, filter: { status: PENDING_ACTIVATION }) {
      totalCount
    }
    active: users(first: 1, filter: { status: ACTIVE }) {
      totalCount
    }
    deactivated: users(first: 1, filter: { status: DEACTIVATED }) {
      totalCount
    }
    deleted: users(first: 1, filter: { status: DELETED }) {
      totalCount
    }
  }
`);

const CertificateCounts = graphql(`
  query DashboardCertificates {
    issued: certificates(first: 1, filter: { status: ISSUED }) {
      totalCount
    }
    ordered: certificates(first: 1, filter: { status: ORDERED }) {
      totalCount
    }
  }
`);

const GroupCounts = graphql(`
  query DashboardGroups {
    system: userGroups(first: 1, filter: { kind: SYSTEM }) {
      totalCount
    }
    custom: userGroups(first: 1, filter: { kind: CUSTOM }) {
      totalCount
    }
  }
`);

function Card({ n, label }: { n: number | undefined; label: string }) {
  return (
    <li className="card">
      <span className="count">{n ?? "–"}</span>
      <span>{label}</span>
    </li>
  );
}

function Certificates() {
  const [{ data, error }] = useQuery({ query: CertificateCounts, requestPolicy: "cache-and-network" });
  return (
    <>
      <h2>Certifikater</h2>
      <FormErrors errors={requestErrors(error)} />
      {data ? null : <Loading />}
      <ul className="cards" aria-label="Certifikater" hidden={!data}>
        <Card n={data?.issued.totalCount} label="Udstedt" />
        <Card n={data?.ordered.totalCount} label="Bestilt, ikke hentet" />
      </ul>
      <p>
        <Link to="/certificates">Se alle certifikater</Link>
      </p>
    </>
  );
}

function Groups() {
  const [{ data, error }] = useQuery({ query: GroupCounts, requestPolicy: "cache-and-network" });
  return (
    <>
      <h2>Brugergrupper</h2>
      <FormErrors errors={requestErrors(error)} />
      {data ? null : <Loading />}
      <ul className="cards" aria-label="Brugergrupper" hidden={!data}>
        <Card n={data?.system.totalCount} label="Systemgrupper" />
        <Card n={data?.custom.totalCount} label="Egne grupper" />
      </ul>
    </>
  );
}

export function Dashboard({ roles }: { roles: Role[] }) {
  const [{ data, fetching, error }] = useQuery({ query: DashboardQuery, requestPolicy: "cache-and-network" });
  const counts: [UserStatus, number | undefined][] = [
    ["CREATED", data?.created.totalCount],
    ["PENDING_ACTIVATION", data?.pending.totalCount],
    ["ACTIVE", data?.active.totalCount],
    ["DEACTIVATED", data?.deactivated.totalCount],
    ["DELETED", data?.deleted.totalCount],
  ];
  return (
    <Page title="Overblik">
      <FormErrors errors={requestErrors(error)} />
      {fetching && !data ? <Loading /> : null}
      {data ? (
        <>
          <p>
            {data.organisation.name} · CVR {data.organisation.cvr} · {data.organisation.pUnits.length} P-enheder
          </p>
          <h2>Brugere</h2>
          <ul className="cards" aria-label="Brugere pr. status">
            <li className="card">
              <span className="count">{data.all.totalCount}</span>
              <span>I alt</span>
            </li>
            {counts.map(([status, n]) => (
              <li className="card" key={status}>
                <span className="count">{n}</span>
                <span>{STATUS_NAMES[status]}</span>
              </li>
            ))}
          </ul>
          <p>
            <Link to="/users">Se alle brugere</Link>
          </p>
          {can(roles, "viewCertificates") ? <Certificates /> : null}
          {can(roles, "viewGroups") ? <Groups /> : null}
        </>
      ) : null}
    </Page>
  );
}
