// Apollo Client with its persisted-queries link against the URL given (argv: url, bearer token,
// "post" | "get" for the hashed requests, the operation's name). Runs one query twice (network-only) and prints one JSON
// line: both results' data and every HTTP exchange the client made (method, what it sent, status).
// NODE_PATH points at var/apollo-apq/node_modules.
const { createHash } = require("node:crypto");
const { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } = require("@apollo/client");
const { PersistedQueryLink } = require("@apollo/client/link/persisted-queries");

const [url, token, mode, name] = process.argv.slice(2);
const exchanges = [];

async function recordingFetch(input, init) {
  const response = await fetch(input, init);
  const target = new URL(String(input));
  const sent = init.method === "GET"
    ? Object.fromEntries([...target.searchParams].map(([k, v]) => [k, ["variables", "extensions"].includes(k) ? JSON.parse(v) : v]))
    : JSON.parse(init.body);
  exchanges.push({ method: init.method, sent, status: response.status });
  return response;
}

const link = ApolloLink.from([
  new PersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text).digest("hex"),
    useGETForHashedQueries: mode === "get",
  }),
  new HttpLink({ uri: url, fetch: recordingFetch, headers: { Authorization: `Bearer ${token}` } }),
]);
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const VIEWER = gql(`query ${name} { viewer { roles } }`);

(async () => {
  const first = await client.query({ query: VIEWER, fetchPolicy: "network-only" });
  const second = await client.query({ query: VIEWER, fetchPolicy: "network-only" });
  console.log(JSON.stringify({ first: first.data, second: second.data, exchanges }));
})().catch((e) => { console.error(e); process.exit(2); });
