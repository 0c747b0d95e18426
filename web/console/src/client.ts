// One urql client per signed-in token: the normalized cache (graphcache) never outlives the person.
import { Client, fetchExchange, subscriptionExchange, type Exchange } from "urql";
import type { Client as WsClient } from "graphql-ws";
import { cacheExchange, type Cache } from "@urql/exchange-graphcache";
import { persistedExchange } from "@urql/exchange-persisted";

/** Every operation goes by its registered hash alone (graphql-codegen's `__meta__.hash`, the
 * SHA-256 of the text in persisted-documents.json, which the gateway registers at start-up), over
 * POST (a GET's URL would be cached without the token). The text is never sent, so the console runs
 * where only registered documents do (PERSISTED_DOCUMENTS=allow-list). */
export function persisted(): Exchange {
  return persistedExchange({
    enforcePersistedQueries: true,
    enableForMutation: true,
    enableForSubscriptions: true,
    preferGetForPersistedQueries: false,
    generateHash: async (_query, document) => {
      const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash ?? "";
      return hash.replace(/^sha256:/, "");
    },
  });
}

function invalidateLists(cache: Cache, name: string): void {
  for (const field of cache.inspectFields("Query")) {
    if (field.fieldName === name) cache.invalidate("Query", field.fieldName, field.arguments);
  }
}
const invalidateUserLists = (cache: Cache) => {
  invalidateLists(cache, "users");
  invalidateLists(cache, "userStats");
};

/** A change to a user adds to their history: its cached pages are asked again. */
function invalidateHistory(cache: Cache, args: Record<string, unknown>): void {
  const input = args.input as { userId?: string } | undefined;
  if (!input?.userId) return;
  const user = { __typename: "User", id: input.userId };
  for (const field of cache.inspectFields(user)) {
    if (field.fieldName === "history") cache.invalidate(user, field.fieldName, field.arguments);
  }
}
const USER_CHANGES = ["updateUser", "setUserAuthenticators", "setUserOrganisationUnit", "deactivateUser", "reactivateUser",
  "resendActivationEmail", "generateActivationCode", "orderUserCertificate"];

const embedded = () => null; // objects without an identity of their own: stored inside their parent

export function makeClient(token: string, socket: WsClient): Client {
  return new Client({
    url: "/graphql",
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { Authorization: `Bearer ${token}` } }),
    exchanges: [
      cacheExchange({
        keys: {
          Viewer: () => "viewer",
          OrganisationSettings: () => "settings",
          Billing: () => "billing",
          BillingCounts: embedded,
          NemHandelDetails: embedded,
          UserCreationSettings: embedded,
          AuthenticatorSettings: embedded,
          CertificateSettings: embedded,
          PUnit: (data) => (data.pNumber as string | undefined) ?? null,
          SeNumber: embedded,
          Deactivation: embedded,
          PageInfo: embedded,
          UserError: embedded,
          CreateUserPayload: embedded,
          UserPayload: embedded,
          GenerateActivationCodePayload: embedded,
          OrganisationSettingsPayload: embedded,
          CertificatePayload: embedded,
          BulkProgress: embedded,
          BulkJobResult: embedded,
          RowError: embedded,
          ImportUsersPayload: embedded,
          SendUsersForActivationPayload: embedded,
          ActivationCode: embedded,
          MarkNotificationsReadPayload: embedded,
          PowerOfAttorneyPayload: embedded,
          BillingPayload: embedded,
          UserStats: embedded,
          UserStatusCount: embedded,
          IdentificationCount: embedded,
          AuthenticatorCount: embedded,
          OrganisationUnitCount: embedded,
          CertificateStats: embedded,
          CertificateStatusCount: embedded,
          CertificateKindCount: embedded,
          NotificationSettings: () => "mine",
          NotificationSettingsPayload: embedded,
          Right: (data) => (data.code as string | undefined) ?? null,
          GroupMemberConnection: embedded,
          GroupMemberEdge: embedded,
          ExternalOrganisation: embedded,
        },
        updates: {
          Mutation: {
            ...Object.fromEntries(USER_CHANGES.map((name) => [name, (_r: unknown, args: Record<string, unknown>, cache: Cache) =>
              invalidateHistory(cache, args)])),
            createUser: (_result, _args, cache) => invalidateUserLists(cache),
            deleteUser: (_result, _args, cache) => invalidateUserLists(cache),
            deactivateUser: (_result, args, cache) => {
              invalidateUserLists(cache);
              invalidateHistory(cache, args);
            },
            reactivateUser: (_result, args, cache) => {
              invalidateUserLists(cache);
              invalidateHistory(cache, args);
            },
            orderUserCertificate: (_result, args, cache) => {
              invalidateLists(cache, "certificates");
              invalidateLists(cache, "certificateStats");
              invalidateHistory(cache, args);
            },
            revokeCertificate: (_result, _args, cache) => {
              invalidateLists(cache, "certificates");
              invalidateLists(cache, "certificateStats");
            },
            sendUsersForActivation: (_result, _args, cache) => invalidateUserLists(cache),
            createUserGroup: (_result, _args, cache) => invalidateLists(cache, "userGroups"),
          },
        },
      }),
      persisted(),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          // graphql-ws requires a `query` string: "" beside the hash in `extensions` (the gateway reads
          // an empty text next to a hash as no text).
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = socket.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
