// Sign-in, then the menu the signed-in person's roles allow, then the screen of the route.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Provider, useQuery, useSubscription } from "urql";
import { loadToken, saveToken } from "./auth";
import { makeClient } from "./client";
import { TokenContext } from "./download";
import { graphql } from "./gql";
import { makeSocket, type LiveNotification } from "./live";
import { NotificationsPage } from "./pages/Notifications";
import { ViewerQuery } from "./viewer";
import type { Role } from "./gql/graphql";
import { can, ROLE_NAMES, type Ability } from "./roles";
import { Link, navigate, useRoute } from "./router";
import { APP_NAME, FormErrors, Loading, Page, requestErrors } from "./ui";
import { SignIn } from "./pages/SignIn";
import { Dashboard } from "./pages/Dashboard";
import { UsersList } from "./pages/UsersList";
import { CreateUser } from "./pages/CreateUser";
import { UserDetail } from "./pages/UserDetail";
import { BillingPage } from "./pages/Billing";
import { SettingsPage } from "./pages/Settings";
import { CertificatesPage } from "./pages/Certificates";
import { ImportPage } from "./pages/Import";
import { PowersPage } from "./pages/Powers";
import { GroupDetail, GroupsPage } from "./pages/Groups";

export function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [notice, setNotice] = useState<string | null>(null);
  const socket = useMemo(() => (token ? makeSocket(token) : null), [token]);
  const client = useMemo(() => (token && socket ? makeClient(token, socket) : null), [token, socket]);
  useEffect(() => () => void socket?.dispose(), [socket]);

  const signIn = (value: string) => {
    saveToken(value);
    setNotice(null);
    setToken(value);
  };
  const signOut = (message: string | null) => {
    saveToken(null);
    setNotice(message);
    setToken(null);
    navigate("/");
  };

  if (!client || !token) return <SignIn onSignIn={signIn} notice={notice} />;
  return (
    <TokenContext.Provider value={token}>
      <Provider value={client}>
        <Shell onSignOut={signOut} />
      </Provider>
    </TokenContext.Provider>
  );
}

type MenuItem = { to: string; label: string; ability?: Ability };
const MENU: readonly MenuItem[] = [
  { to: "/", label: "Overblik", ability: "viewUsers" },
  { to: "/users", label: "Brugere", ability: "viewUsers" },
  { to: "/import", label: "Importér brugere", ability: "manageUsers" },
  { to: "/groups", label: "Brugergrupper", ability: "viewGroups" },
  { to: "/certificates", label: "Certifikater", ability: "viewCertificates" },
  { to: "/powers-of-attorney", label: "Fuldmagter", ability: "viewPowers" },
  { to: "/billing", label: "Fakturering", ability: "viewBilling" },
  { to: "/settings", label: "Indstillinger" },
];

const LiveNotifications = graphql(`
  subscription LiveNotifications {
    notifications {
      id
      kind
      title
      body
      createdAt
      read
    }
  }
`);

const UnreadCount = graphql(`
  query UnreadNotifications {
    notifications(first: 1, unreadOnly: true) {
      unreadCount
    }
  }
`);

function isCurrent(route: string, to: string): boolean {
  return to === "/" ? route === "/" : route === to || route.startsWith(`${to}/`);
}

function Shell({ onSignOut }: { onSignOut: (message: string | null) => void }) {
  const [{ data, fetching, error }] = useQuery({ query: ViewerQuery });
  const route = useRoute();
  // New notifications, live: kept here (the newest first) so every screen's header counts them.
  const [live, setLive] = useState<LiveNotification[]>([]);
  const [{ data: unreadData }, refetchUnread] = useQuery({ query: UnreadCount, pause: !data, requestPolicy: "network-only" });
  useSubscription({ query: LiveNotifications, pause: !data }, (_previous, event) => {
    setLive((current) => [event.notifications, ...current.filter((n) => n.id !== event.notifications.id)]);
    return event;
  });
  const [announcement, setAnnouncement] = useState("");
  useEffect(() => {
    if (live.length) setAnnouncement(`Ny notifikation: ${live[0].title}`);
  }, [live]);
  const onRead = useCallback(() => {
    setLive((current) => current.map((n) => ({ ...n, read: true })));
    refetchUnread({ requestPolicy: "network-only" });
  }, [refetchUnread]);
  const unread = (unreadData?.notifications.unreadCount ?? 0) + live.filter((n) => !n.read).length;

  const rejected = !!error?.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
  useEffect(() => {
    if (rejected) onSignOut("Adgangstokenet blev ikke godtaget (udløbet eller ugyldigt). Indsæt et nyt.");
  }, [rejected, onSignOut]);
  if (rejected) return null;
  if (fetching && !data) return <Loading />;
  if (!data) {
    return (
      <main id="indhold">
        <Page title="Konsollen kunne ikke starte">
          <FormErrors errors={requestErrors(error)} />
          <button type="button" onClick={() => onSignOut(null)}>
            Log ud
          </button>
        </Page>
      </main>
    );
  }
  const roles = data.viewer.roles as Role[];
  const menu = MENU.filter((m) => !m.ability || can(roles, m.ability));

  return (
    <>
      <a className="skip" href="#indhold">
        Gå til indhold
      </a>
      <header className="top">
        <span className="brand">{APP_NAME}</span>
        <span className="who">
          {data.viewer.user?.name ?? "Ukendt bruger"} · {roles.map((r) => ROLE_NAMES[r]).join(", ") || "ingen rolle"} ·{" "}
          {data.viewer.organisation.name} (CVR {data.viewer.organisation.cvr})
        </span>
        <Link to="/notifications" className="bell" aria-current={route === "/notifications" ? "page" : undefined}>
          Notifikationer{unread ? ` (${unread} ulæste)` : ""}
        </Link>
        <button type="button" className="secondary" onClick={() => onSignOut(null)}>
          Log ud
        </button>
        <span className="visually-hidden" role="status" aria-live="polite">
          {announcement}
        </span>
      </header>
      <div className="layout">
        <nav aria-label="Menu">
          <ul>
            {menu.map((m) => (
              <li key={m.to}>
                <Link to={m.to} aria-current={isCurrent(route, m.to) ? "page" : undefined}>
                  {m.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main id="indhold">
          {route === "/notifications" ? (
            <NotificationsPage live={live} onRead={onRead} />
          ) : (
            <Screen route={route} roles={roles} />
          )}
        </main>
      </div>
    </>
  );
}

function Screen({ route, roles }: { route: string; roles: Role[] }) {
  const viewUsers = can(roles, "viewUsers");
  if (route === "/") return viewUsers ? <Dashboard roles={roles} /> : <NotForYou />;
  if (route === "/users") return viewUsers ? <UsersList roles={roles} /> : <NotForYou />;
  if (route === "/users/new") return can(roles, "manageUsers") ? <CreateUser /> : <NotForYou />;
  const user = /^\/users\/([^/]+)$/.exec(route);
  if (user) return viewUsers ? <UserDetail id={decodeURIComponent(user[1])} roles={roles} /> : <NotForYou />;
  if (route === "/import") return can(roles, "manageUsers") ? <ImportPage /> : <NotForYou />;
  if (route === "/groups") return can(roles, "viewGroups") ? <GroupsPage roles={roles} /> : <NotForYou />;
  const group = /^\/groups\/([^/]+)$/.exec(route);
  if (group) return can(roles, "viewGroups") ? <GroupDetail id={decodeURIComponent(group[1])} roles={roles} /> : <NotForYou />;
  if (route === "/certificates") return can(roles, "viewCertificates") ? <CertificatesPage roles={roles} /> : <NotForYou />;
  if (route === "/powers-of-attorney") return can(roles, "viewPowers") ? <PowersPage roles={roles} /> : <NotForYou />;
  if (route === "/billing") return can(roles, "viewBilling") ? <BillingPage canEdit={can(roles, "updateBilling")} /> : <NotForYou />;
  if (route === "/settings") return <SettingsPage canEdit={can(roles, "updateSettings")} />;
  return (
    <Page title="Siden findes ikke">
      <p>
        Der er ingen side på denne adresse. <Link to="/">Gå til overblikket</Link>.
      </p>
    </Page>
  );
}

function NotForYou() {
  return (
    <Page title="Ingen adgang">
      <p>Din rolle giver ikke adgang til denne side. Menuen viser de sider, du kan bruge.</p>
    </Page>
  );
}
