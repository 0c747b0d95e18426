// A real graphql-ws client (npm graphql-ws, pinned in .ci/run) for tests/test_ws_lifecycle.py.
// Usage: node ws_client.cjs <node_modules dir> <ws url> <bearer token>
// Subscribes to `notifications`; every line read on stdin is a GraphQL operation sent over the same
// socket. Prints one JSON object per line: connected, next, error, complete, closed {code, reason}.
const { createRequire } = require("module");
const path = require("path");
const [modules, url, token] = process.argv.slice(2);
const load = createRequire(path.join(modules, "noop.js"));
const { createClient } = load("graphql-ws");
const WebSocket = load("ws");

const say = (event) => process.stdout.write(JSON.stringify(event) + "\n");
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { Authorization: `Bearer ${token}` },
  on: {
    connected: () => say({ event: "connected" }),
    closed: (e) => { say({ event: "closed", code: e.code, reason: e.reason }); process.exit(0); },
  },
});

function run(label, query) {
  client.subscribe({ query }, {
    next: (value) => say({ event: "next", label, value }),
    error: (error) => say({ event: "error", label, error: Array.isArray(error) ? error : String(error && error.code || error) }),
    complete: () => say({ event: "complete", label }),
  });
}

run("subscription", "subscription { notifications { kind title } }");
let n = 0;
require("readline").createInterface({ input: process.stdin }).on("line", (line) => run(`op${++n}`, line));
