// The notifications subscription over graphql-transport-ws on /graphql (same origin), the bearer
// token in connection_init's payload, as the gateway expects. One socket per signed-in token.
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";

export type LiveNotification = {
  id: string;
  kind: string;
  title: string;
  body: string;
  createdAt: string;
  read: boolean;
};

export function makeSocket(token: string): WsClient {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return createWsClient({
    url: url.toString(),
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: 5,
    // 4401 (token expired) and 4403 (refused, the person deactivated or deleted) are final.
    shouldRetry: (event) => !(event && typeof event === "object" && "code" in event && [4401, 4403].includes((event as CloseEvent).code)),
  });
}
