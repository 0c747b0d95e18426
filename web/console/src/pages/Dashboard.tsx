import { useQuery } from "urql";
import { graphql } from "../gql";
import type { Role, UserStatus } from "../gql/graphql";
import { can } from "../roles";
import { Link } from "../router";
import { FormErrors, Loading, Page, requestErrors, STATUS_NAMES, STATUSES } from "../ui";

// The organisation's counts: userStats and certificateStats (one statement each on the gateway).
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
    userStats {
      total
      byStatus {
        key
        count
      }
      byIdentification {
        key
        count
      }
    }
  }
`);

const CertificateCounts = graphql(`
  query DashboardCertificates {
    certificateStats {
      total
      byStatus {
        key
        count
      }
      expiringSoon
      expiringWithinDays
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
  const stats = data?.certificateStats;
  return (
    <>
      <h2>Certifikater</h2>
      <FormErrors errors={requestErrors(error)} />
      {data ? null : <Loading />}
      <ul className="cards" aria-label="Certifikater" hidden={!data}>
        <Card n={stats?.byStatus.find((c) => c.key === "ISSUED")?.count ?? 0} label="Udstedt" />
        <Card n={stats?.byStatus.find((c) => c.key === "ORDERED")?.count ?? 0} label="Bestilt, ikke hentet" />
        <Card n={stats?.expiringSoon} label={`Udløber inden for ${stats?.expiringWithinDays ?? 30} dage`} />
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
  const stats = data?.userStats;
  const counts: [UserStatus, number][] = STATUSES.map((status) => [
    status,
    stats?.byStatus.find((c) => c.key === status)?.count ?? 0,
  ]);
  const byId = (key: string) => stats?.byIdentification.find((c) => c.key === key)?.count ?? 0;
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
              <span className="count">{data.userStats.total}</span>
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
            {byId("CPR")} med CPR-nummer, {byId("DATE_OF_BIRTH")} med fødselsdato.
          </p>
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
