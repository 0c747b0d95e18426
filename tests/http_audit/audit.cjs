// Runs graphql-http's serverAudits against the URL given and prints one JSON line per audit
// (id, name, status ok|warn|error, reason). NODE_PATH points at var/graphql-http/node_modules.
const { serverAudits } = require("graphql-http");

(async () => {
  const audits = serverAudits({ url: process.argv[2] });
  const results = await Promise.all(audits.map((a) => a.fn()));
  for (const r of results) {
    console.log(JSON.stringify({ id: r.id, name: r.name, status: r.status, reason: r.reason || null }));
  }
})().catch((e) => { console.error(e); process.exit(2); });
