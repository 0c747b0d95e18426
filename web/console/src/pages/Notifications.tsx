import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { formatDateTime, FormErrors, Loading, Page, requestErrors } from "../ui";
import type { LiveNotification } from "../live";

export const NotificationsQuery = graphql(`
  query Notifications {
    notifications(first: 50) {
      totalCount
      unreadCount
      edges {
        node {
          id
          kind
          title
          body
          createdAt
          read
        }
      }
    }
  }
`);

const MarkRead = graphql(`
  mutation MarkNotificationsRead($input: MarkNotificationsReadInput) {
    markNotificationsRead(input: $input) {
      marked
      userErrors {
        field
        code
        message
      }
    }
  }
`);

/** The latest 50, with those that arrived live over the subscription since the console opened on top. */
export function NotificationsPage({ live, onRead }: { live: LiveNotification[]; onRead: () => void }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: NotificationsQuery, requestPolicy: "cache-and-network" });
  const [{ fetching: marking, error: markError }, mark] = useMutation(MarkRead);
  const known = new Set(data?.notifications.edges.map((e) => e.node.id));
  const items = [...live.filter((n) => !known.has(n.id)), ...(data?.notifications.edges.map((e) => e.node) ?? [])];
  const unread = items.filter((n) => !n.read).length;

  const markAll = async () => {
    await mark({ input: {} });
    onRead();
    refetch({ requestPolicy: "network-only" });
  };

  return (
    <Page title="Notifikationer">
      <FormErrors errors={requestErrors(error ?? markError)} />
      {fetching && !data ? <Loading /> : null}
      <p className="muted">Nye notifikationer kommer frem her med det samme, uden at siden skal genindlæses.</p>
      <div className="actions">
        <button type="button" className="secondary" disabled={marking || unread === 0} onClick={markAll}>
          Markér alle som læst
        </button>
      </div>
      {items.length ? (
        <ul className="notifications" aria-label="Notifikationer">
          {items.map((n) => (
            <li key={n.id} className={n.read ? "read" : "unread"}>
              <h2>
                {n.title}
                {n.read ? null : <span className="badge">Ulæst</span>}
              </h2>
              <p>{n.body}</p>
              <p className="muted">{formatDateTime(n.createdAt)}</p>
            </li>
          ))}
        </ul>
      ) : data ? (
        <p>Ingen notifikationer.</p>
      ) : null}
    </Page>
  );
}
