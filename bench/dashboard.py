"""Dashboard benchmark (issue 7): our GraphQL gateway against the practical limit and a peer.

    .venv/bin/python -m bench.dashboard                      # PostgreSQL + SQLite, scale 1, 10 s rounds
    .venv/bin/python -m bench.dashboard --quick              # scale 0.1, 5 s rounds (~3 min)
    .venv/bin/python -m bench.dashboard --db postgresql --reuse --clients 16 --profile

Per database:

1. data     - bench/data.py's organisation (10k users, 50k certificates, 1M history entries at scale 1),
              generated afresh, or reused with --reuse when one of this scale is there;
2. servers  - on 127.0.0.1, each with as many workers as cores (uvicorn, uvloop, httptools):
              * ours     - `uvicorn app.entrypoints.http.app:create_app --factory` (BACKGROUND_TASKS=0, cost limits lifted);
              * baseline - bench/baseline_app.py: hand-written Starlette endpoint, the same driver, the same
                           answer as one orjson document (checked: our `data` == the baseline's, keys sorted);
              * peer     - PostGraphile (pinned in bench/peer/package.json, installed there by this script;
                           PostgreSQL only, one Node process) with the equivalent query;
3. load     - a fixed number of concurrent keep-alive clients for a fixed time (wrk when installed,
              else an asyncio client in a child process): req/s, p50, p99, errors, server CPU per request;
              the dashboard page with `first: 50` and `first: 500`;
4. also     - SQL statements per request (in-process, SQLAlchemy `before_cursor_execute`; constant in
              `first`?), history page 1 vs page 1000 of the user with the longest history (keyset
              cursors), the certificate CSV export (rows/s, the serving worker's peak memory growth).

--profile adds a py-spy sampling profile of our workers under load (py-spy must be installed).
Nothing asserts a time: the figures are printed as tables.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import platform as pyplatform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import data as bench_data

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = ROOT / "bench" / "peer"
LOG_DIR = ROOT / "var" / "bench" / "logs"
RESULT_MARK = "BENCH_RESULT "
HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

USER_FIELDS = """id uuid firstName lastName email phone reference cprMasked dateOfBirth identification status
      pNumber seNumber canSign createdAt lastLoginAt"""
QUERY = f"""query Dashboard($first: Int!) {{
  users(first: $first) {{
    pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{
      {USER_FIELDS}
      authenticators
      groups {{ name kind }}
      certificates {{ serialNumber status notAfter }}
      history(first: 5) {{ edges {{ node {{ type occurredAt actorName }} }} }}
    }} }}
  }}
}}"""
HISTORY_QUERY = """query History($id: ID!, $first: Int!, $after: String) {
  user(id: $id) {
    history(first: $first, after: $after) {
      edges { cursor node { id type occurredAt actorName summary } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
# The peer's computed columns (PostGraphile's idiom for what is not a foreign key): the user's groups
# (custom memberships and the P-unit's system group), the latest n history entries, a certificate's
# status with expiry derived. Created in the benchmark's own database only.
PEER_FUNCTIONS = """
CREATE OR REPLACE FUNCTION users_group_list(u users) RETURNS SETOF user_groups LANGUAGE sql STABLE AS $$
  SELECT g.* FROM user_group_members m JOIN user_groups g ON g.id = m.group_id
  WHERE m.user_id = u.id AND g.org_id = u.org_id
  UNION ALL
  SELECT g.* FROM user_groups g WHERE g.org_id = u.org_id AND g.p_number = u.p_number AND g.kind = 'SYSTEM'
  ORDER BY kind, name_lower
$$;
CREATE OR REPLACE FUNCTION users_latest_history(u users, n integer) RETURNS SETOF activities LANGUAGE sql STABLE AS $$
  SELECT a.* FROM activities a WHERE a.org_id = u.org_id AND a.target_user_id = u.id ORDER BY a.id DESC LIMIT n
$$;
CREATE OR REPLACE FUNCTION certificates_current_status(c certificates) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN c.status = 'ISSUED' AND c.not_after <= now() THEN 'EXPIRED' ELSE c.status END
$$;
"""


def say(*args: Any) -> None:
    print(*args, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def encode_cursor(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


# --- processes ----------------------------------------------------------------------------------------


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / HZ  # utime, stime
        except OSError:
            pass
    return out


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_by_pid(pids).values())


def cpu_delta(before: dict[int, float], pids: list[int]) -> float:
    """CPU used since `before` by the processes alive now (new ones: all of theirs)."""
    return sum(v - before.get(pid, 0.0) for pid, v in cpu_by_pid(pids).items())


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


@dataclass
class Server:
    name: str
    label: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    path: str  # the endpoint the load goes to
    version: str = ""
    pids: list[int] = field(default_factory=list)
    # More processes of the same server on their own ports (the peer: one Node process per core);
    # a load round splits its clients between them.
    replicas: list[Server] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def urls(self) -> list[str]:
        return [self.url, *(r.url for r in self.replicas)]

    def workers(self) -> list[int]:
        return _descendants(self.proc.pid) + [p for r in self.replicas for p in r.workers()]

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group we started (start_new_session)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start_process(name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], Path]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    out = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    return proc, log


def wait_ready(server: Server, check: Any, timeout: float = 90.0) -> str | None:
    """None when `check()` succeeds before the timeout; else why not."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return f"exited with {server.proc.returncode}: {server.log_tail()}"
        try:
            if check():
                return None
        except Exception as exc:  # connection refused while starting
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.3)
    return f"not ready after {timeout:.0f} s ({last})"


def uvicorn_cmd(app: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
            "--no-access-log"]


def server_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url, "BACKGROUND_TASKS": "0", "GRAPHQL_COST_BUDGET_PER_MINUTE": "1000000000",
        "GRAPHQL_MAX_COST": "1000000000", "GRAPHIQL": "0", "PYTHONPATH": str(ROOT),
    })
    return env


# --- the peer (PostGraphile) -----------------------------------------------------------------------


def _npm(args: list[str], cwd: Path, timeout: float = 300) -> tuple[bool, str]:
    npm = shutil.which("npm")
    if npm is None:
        return False, "npm is not installed"
    try:
        proc = subprocess.run([npm, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"npm {' '.join(args)} took over {timeout:.0f} s"
    return proc.returncode == 0, proc.stdout[-1500:]


def peer_v5() -> tuple[list[str] | None, str]:
    """PostGraphile v5 as pinned in bench/peer/package.json, run by the Node 22 binary that npm
    installs beside it (v5 needs Node >= 22): (command, version) or (None, why not)."""
    pinned = json.loads((PEER_DIR / "package.json").read_text())["dependencies"]
    node = PEER_DIR / "node_modules" / ".bin" / "node"
    cli = PEER_DIR / "node_modules" / ".bin" / "postgraphile"
    if not (node.exists() and cli.exists()):
        t = time.perf_counter()
        lock = (PEER_DIR / "package-lock.json").exists()
        ok, out = _npm(["ci" if lock else "install", "--no-audit", "--no-fund"], PEER_DIR)
        if not ok:
            return None, f"postgraphile@{pinned.get('postgraphile')} install failed: {out.strip()[-300:]}"
        say(f"peer: npm {'ci' if lock else 'install'} in bench/peer ({time.perf_counter() - t:.0f} s)")
    try:
        node_version = subprocess.run([str(node), "--version"], capture_output=True, text=True,
                                      timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"the Node binary from npm does not run: {exc}"
    if not re.fullmatch(r"v(2[2-9]|[3-9]\d)\..*", node_version):
        return None, f"the Node from npm is {node_version or 'missing'}; PostGraphile v5 needs >= 22"
    version = json.loads((PEER_DIR / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
    return ([str(node), str(cli), "--preset", "postgraphile/presets/amber"],
            f"postgraphile {version} (Node {node_version}, amber preset, GRAPHILE_ENV=production)")


PEER_V4 = "4.14.1"


def peer_v4() -> tuple[list[str] | None, str]:
    """The fallback: PostGraphile v4 on the system's Node, installed under bench/peer/node_modules/
    (ignored by git like the rest of it)."""
    node = shutil.which("node")
    if node is None:
        return None, "no system Node for postgraphile@4"
    prefix = PEER_DIR / "node_modules" / ".fallback-v4"
    cli = prefix / "node_modules" / ".bin" / "postgraphile"
    if not cli.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        ok, out = _npm(["install", "--no-audit", "--no-fund", "--prefix", str(prefix), f"postgraphile@{PEER_V4}"],
                       PEER_DIR)
        if not ok:
            return None, f"postgraphile@{PEER_V4} install failed: {out.strip()[-300:]}"
    version = json.loads((prefix / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return [node, str(cli), "--disable-query-log"], f"postgraphile {version} (system Node {node_version})"


async def install_peer_functions(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(PEER_FUNCTIONS)
    finally:
        await conn.close()


def peer_query(client: Any, url: str) -> tuple[str | None, str]:
    """The equivalent query, its fields named from the peer's own schema (introspection)."""

    def fields(type_name: str) -> dict[str, list[str]]:
        q = "{ __type(name: " + json.dumps(type_name) + ") { fields { name args { name } } } }"
        t = client.post(url, json={"query": q}).json()["data"]["__type"]
        return {f["name"]: [a["name"] for a in f["args"]] for f in (t or {}).get("fields") or []}

    user = fields("User")
    query_fields = fields("Query")
    if "allUsers" not in query_fields or not user:
        return None, "no allUsers / User type in the peer's schema"
    notes = []
    uuid_field = "rowId" if "rowId" in user else "id"
    scalars = ["id" if uuid_field == "rowId" else "nodeId", uuid_field]
    wanted = ["firstName", "lastName", "email", "phone", "reference", "cprMasked", "dateOfBirth", "identification",
              "status", "pNumber", "seNumber", "canSign", "createdAt", "lastLoginAt"]
    scalars += [f for f in wanted if f in user]
    relations = []
    if "userAuthenticatorsByUserId" in user:
        relations.append("userAuthenticatorsByUserId(orderBy: [PRIMARY_KEY_ASC]) { nodes { kind } }")
    if "groupList" in user:
        relations.append("groupList { nodes { name kind } }")
    else:
        notes.append("no groupList")
    if "certificatesByUserId" in user:
        status = "currentStatus" if "currentStatus" in fields("Certificate") else "status"
        relations.append(f"certificatesByUserId(orderBy: [ORDERED_AT_DESC, PRIMARY_KEY_ASC]) "
                         f"{{ nodes {{ serialNumber {status} notAfter }} }}")
    if "latestHistory" in user:
        relations.append("latestHistory(n: 5) { nodes { type occurredAt actorName } }")
    else:
        notes.append("no latestHistory")
    body = "\n      ".join([" ".join(scalars), *relations])
    q = f"""query Dashboard($first: Int!, $org: Int!) {{
  allUsers(first: $first, orderBy: [LAST_NAME_ASC, FIRST_NAME_ASC, PRIMARY_KEY_ASC], condition: {{orgId: $org}}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {body}
    }}
  }}
}}"""
    return q, "; ".join(notes)


# --- load ---------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    error_detail: str = ""
    server_cpu_ms: float = 0.0  # per request
    client_cpu_s: float = 0.0
    tool: str = ""
    settle_s: float = 0.0
    avg_ms: float = 0.0
    alone_ms: float = 0.0
    db_cpu_ms: float = 0.0
    little: float = 0.0  # req/s by Little's law when a round completes few requests per client
    skipped: str = ""

    @property
    def rps(self) -> float:
        if self.little:
            return self.little
        return self.requests / self.seconds if self.seconds else 0.0


def _wrk_ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(url: str, body: bytes, headers: dict[str, str], clients: int, duration: float, tmp: Path) -> LoadResult:
    script = tmp / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    threads = min(2, clients)
    cmd = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{math.ceil(duration)}s", "--timeout", "60s", "--latency",
           "-s", str(script), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = LoadResult(tool="wrk", client_cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if m:
        r.requests = int(m.group(1))
        r.seconds = _wrk_ms(m.group(2) + m.group(3)) / 1000
    m = re.search(r"^\s+Latency\s+(\S+)", out, re.M)
    if m:
        r.avg_ms = _wrk_ms(m.group(1))
    for pct, attr in (("50%", "p50_ms"), ("99%", "p99_ms")):
        m = re.search(rf"^\s+{re.escape(pct)}\s+(\S+)", out, re.M)
        if m:
            setattr(r, attr, _wrk_ms(m.group(1)))
    details = []
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r.errors += int(m.group(1))
        details.append(f"{m.group(1)} non-2xx")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        n = sum(int(x) for x in m.groups())
        r.errors += n
        details.append(m.group(0))
    r.error_detail = "; ".join(details)
    if not r.requests:
        r.error_detail = "wrk: " + out[-500:]
    return r


async def _client_load(host: str, port: int, request: bytes, clients: int, duration: float) -> dict[str, Any]:
    """`clients` keep-alive HTTP/1.1 connections, each sending the request again as soon as the
    answer is read (Content-Length or chunked)."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = time.perf_counter()
    deadline = start + duration
    perf = time.perf_counter

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while perf() < deadline:
                t0 = perf()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                lower = head.lower()
                m = re.search(rb"content-length:\s*(\d+)", lower)
                if m:
                    body = await reader.readexactly(int(m.group(1)))
                else:
                    chunks = []
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        chunks.append(chunk[:-2])
                    body = b"".join(chunks)
                latencies.append(perf() - t0)
                if status != 200:
                    errors[f"HTTP {status}"] += 1
                elif body.startswith(b'{"errors"') or b'"errors":[{' in body[:200]:
                    errors["GraphQL errors"] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors[type(exc).__name__] += 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(clients)))
    elapsed = perf() - start
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else (lambda q: 0.0)
    return {"requests": len(latencies), "seconds": elapsed, "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "avg_ms": 1000 * sum(latencies) / len(latencies) if latencies else 0.0,
            "errors": sum(errors.values()), "error_detail": ", ".join(f"{n} {k}" for k, n in errors.items())}


def run_python_load(url: str, body: bytes, headers: dict[str, str], clients: int, duration: float) -> LoadResult:
    m = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert m
    host, port, path = m.group(1), int(m.group(2)), m.group(3)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}"] + [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-type"]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    spec = {"host": host, "port": port, "request": base64.b64encode(request).decode(), "clients": clients,
            "duration": duration}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "bench.dashboard", "--load-child", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=duration + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            d = json.loads(line[len(RESULT_MARK):])
            return LoadResult(tool="asyncio client", client_cpu_s=(after.ru_utime + after.ru_stime)
                              - (before.ru_utime + before.ru_stime), **d)
    return LoadResult(tool="asyncio client", error_detail=f"load child failed: {proc.stderr[-500:]}")


def postgres_pids() -> list[int]:
    """PostgreSQL's processes on this machine (backends included), for its CPU per request."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        out.append(int(entry))
            except OSError:
                pass
    return out


def probe(server: Server, body: bytes, headers: dict[str, str]) -> float:
    """One request's latency with nothing else running (the faster of two; also a warm-up)."""
    import httpx

    best = float("inf")
    with httpx.Client(timeout=300) as client:
        for _ in range(2):
            t = time.perf_counter()
            r = client.post(server.url, content=body, headers=headers)
            best = min(best, time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"{server.name}: HTTP {r.status_code} {r.text[:300]}")
    return best


def load_round(server: Server, body: bytes, headers: dict[str, str], clients: int, args: argparse.Namespace,
               tool: str, tmp: Path, parallel: int) -> LoadResult:
    """A round of `clients` concurrent clients. The round is stretched to 2.5x the latency expected
    under that load (one request alone x clients / workers) so that every client completes requests
    in it, and skipped when that is longer than --max-round; a short concurrent warm-up runs only
    where it completes requests too (else the two probe requests are the warm-up)."""
    one = (lambda url, n, d: run_wrk(url, body, headers, n, d, tmp)) if tool == "wrk" else \
        (lambda url, n, d: run_python_load(url, body, headers, n, d))

    def run(d: float) -> LoadResult:
        return _split_load(one, server.urls, clients, d)

    alone = probe(server, body, headers)
    expected = alone * clients / parallel
    duration = max(args.duration, 2.5 * expected)
    if duration > args.max_round:
        return LoadResult(skipped=f"skipped: one request takes {alone:.2f} s alone, ~{expected:.0f} s under "
                                  f"{clients} clients; the round would need {duration:.0f} s > --max-round "
                                  f"{args.max_round:g} s", alone_ms=alone * 1000)
    if args.warmup > 0 and expected < args.warmup:
        run(args.warmup)
        settle(server)
    pids = server.workers()
    pg = "postgresql" in args.current_db
    cpu0, db0 = cpu_by_pid(pids), cpu_by_pid(postgres_pids() if pg else [])
    r = run(duration)
    cpu, db_cpu = cpu_delta(cpu0, pids), cpu_delta(db0, postgres_pids() if pg else [])
    r.alone_ms = alone * 1000
    if 0 < r.requests < clients and r.avg_ms > 0:
        # under one completion per client: the count is dominated by where the round's edges fall;
        # in a closed loop (no think time) throughput = clients / mean latency (Little's law)
        r.little = clients / (r.avg_ms / 1000)
    served = r.rps * r.seconds  # requests' worth of work done in the round
    r.server_cpu_ms = 1000 * cpu / served if served else 0.0
    r.db_cpu_ms = 1000 * db_cpu / served if served and pg else 0.0
    if not r.requests and not r.error_detail:
        r.error_detail = f"no request completed within {math.ceil(duration)} s"
    r.settle_s = settle(server)
    return r


def _split_load(one: Any, urls: list[str], clients: int, duration: float) -> LoadResult:
    """A round against one server, or split between the processes of one (clients shared out, rounds
    at the same time): requests and errors add up; p50 is the requests-weighted mean of the parts',
    p99 the worst part's."""
    if len(urls) == 1:
        return one(urls[0], clients, duration)
    shares = [clients // len(urls) + (1 if i < clients % len(urls) else 0) for i in range(len(urls))]
    parts: list[LoadResult] = [LoadResult() for _ in urls]

    def go(i: int) -> None:
        parts[i] = one(urls[i], max(shares[i], 1), duration)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = LoadResult(tool=parts[0].tool)
    total.requests = sum(p.requests for p in parts)
    total.seconds = max(p.seconds for p in parts)
    weight = max(total.requests, 1)
    total.p50_ms = sum(p.p50_ms * p.requests for p in parts) / weight
    total.avg_ms = sum(p.avg_ms * p.requests for p in parts) / weight
    total.p99_ms = max(p.p99_ms for p in parts)
    total.errors = sum(p.errors for p in parts)
    total.client_cpu_s = sum(p.client_cpu_s for p in parts)
    total.error_detail = "; ".join(p.error_detail for p in parts if p.error_detail)
    return total


def settle(server: Server, timeout: float = 90.0) -> float:
    """Wait until the server is idle again: requests the load tool gave up on at its deadline are
    still being worked on, and must not eat into the next round. Returns the seconds waited."""
    pids = server.workers()
    t0 = time.monotonic()
    last = cpu_seconds(pids)
    while time.monotonic() - t0 < timeout:
        time.sleep(0.25)
        now = cpu_seconds(pids)
        if now - last < 0.02:  # under 8 % of one core
            break
        last = now
    return time.monotonic() - t0


# --- in-process measurements ----------------------------------------------------------------------


async def count_statements(ds: bench_data.Dataset, firsts: list[int]) -> dict[int, dict[str, Any]]:
    """Our app in-process (ASGI, no socket): statements and pool checkouts per dashboard request."""
    import httpx
    from sqlalchemy import event

    from app.adapters.jwt import sign_token
    from app.bootstrap import build_services
    from app.config import Settings
    from app.domain.common.principal import Role
    from app.entrypoints.http.app import create_app

    settings = Settings.from_env({}, database_url=ds.url, background_tasks=False, max_query_cost=10**9,
                                 cost_budget_per_minute=10**9)
    services = build_services(settings)
    statements: list[str] = []
    checkouts = [0]
    event.listen(services.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, stmt, _p, _ctx, _many: statements.append(stmt))
    event.listen(services.engine.sync_engine.pool, "checkout", lambda *_a: checkouts.__setitem__(0, checkouts[0] + 1))
    from app.persistence.db import RAW_STATEMENT_LISTENERS

    RAW_STATEMENT_LISTENERS.append(statements.append)  # those sent to asyncpg itself (fetch_rows)
    app = create_app(settings, services)
    token = sign_token(settings, ds.admin_id, ds.cvr, [Role.USER_ADMINISTRATOR])
    out: dict[int, dict[str, Any]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            for first in firsts:
                payload = {"query": QUERY, "variables": {"first": first}}
                headers = {"Authorization": f"Bearer {token}"}
                await client.post("/graphql", json=payload, headers=headers)  # warm: caches, org id
                statements.clear()
                checkouts[0] = 0
                r = await client.post("/graphql", json=payload, headers=headers)
                body = r.json()
                kinds = Counter(s.split(None, 1)[0].upper() for s in statements)
                out[first] = {
                    "statements": len(statements), "selects": kinds.get("SELECT", 0), "kinds": dict(kinds),
                    "checkouts": checkouts[0], "errors": body.get("errors"),
                    "users": len(((body.get("data") or {}).get("users") or {}).get("edges") or []),
                    "sql": [" ".join(s.split())[:110] for s in statements],
                }
    await services.engine.dispose()
    return out


# --- the run per database -------------------------------------------------------------------------


@dataclass
class DbReport:
    db: str
    note: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    statements: dict[int, dict[str, Any]] = field(default_factory=dict)
    identity: dict[int, str] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)
    cold: dict[str, float] = field(default_factory=dict)
    peer: str = ""
    profile: str = ""
    data_seconds: float = 0.0
    seconds: float = 0.0


def normalised(data: Any) -> bytes:
    import orjson

    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def measure_cold(client: Any, servers: dict[str, Server], headers: dict[str, str], first: int, reps: int) -> dict[str, float]:
    """A document seen for the first time (a comment makes each text new: parsed, validated and, for
    ours, planned afresh), sequential requests, median ms per server (ours and the general executor)."""
    out: dict[str, float] = {}
    for name in ("ours", "general"):
        if name not in servers:
            continue
        times = []
        for i in range(reps):
            body = json.dumps({"query": f"# cold {name} {i} {uuid.uuid4().hex}\n{QUERY}", "variables": {"first": first}})
            t = time.perf_counter()
            r = client.post(servers[name].url, content=body.encode(), headers=headers)
            times.append(time.perf_counter() - t)
            if r.status_code != 200 or r.json().get("errors"):
                raise RuntimeError(f"cold document on {name}: {r.status_code} {r.text[:300]}")
        out[name] = 1000 * statistics.median(times)
    return out


def measure_history(client: Any, ours: Server, headers: dict[str, str], ds: bench_data.Dataset, reps: int) -> dict[str, Any]:
    """History of the hot user: page 1 and page 1000 (keyset cursor), sequential, medians."""
    size = max(1, min(50, ds.hot_entries // 1001))
    node_id = base64.urlsafe_b64encode(f"User:{ds.hot_user_id}".encode()).decode().rstrip("=")
    before_id = asyncio.run(_nth_newest(ds, 999 * size))
    cursor = encode_cursor("Activity", before_id)

    def page(after: str | None) -> tuple[float, dict[str, Any]]:
        t = time.perf_counter()
        r = client.post(ours.url, json={"query": HISTORY_QUERY, "variables": {"id": node_id, "first": size, "after": after}},
                        headers=headers)
        elapsed = time.perf_counter() - t
        body = r.json()
        if r.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"history query failed: {r.status_code} {str(body)[:300]}")
        return elapsed, body["data"]["user"]["history"]

    # correctness of the cursor: page 2 through page 1's endCursor is the next `size` entries
    _, p1 = page(None)
    _, p2 = page(p1["pageInfo"]["endCursor"])
    ids1 = [e["node"]["id"] for e in p1["edges"]]
    ids2 = [e["node"]["id"] for e in p2["edges"]]
    chained_ok = len(ids1) == size and len(ids2) == size and not set(ids1) & set(ids2)
    _, p1000 = page(cursor)
    times1, times1000 = [], []
    for _ in range(reps):
        times1.append(page(None)[0])
        times1000.append(page(cursor)[0])
    m1, m1000 = statistics.median(times1) * 1000, statistics.median(times1000) * 1000
    return {"size": size, "entries": ds.hot_entries, "page1_ms": m1, "page1000_ms": m1000, "ratio": m1000 / m1,
            "reps": reps, "chained_ok": chained_ok, "page1000_rows": len(p1000["edges"]),
            "page1000_next": p1000["pageInfo"]["hasNextPage"]}


async def _nth_newest(ds: bench_data.Dataset, n: int) -> int:
    """The id of the user's n-th newest entry: page 1000 starts after it."""
    from sqlalchemy import select

    from app.persistence.db import make_engine
    from app.persistence.tables.activity import activities

    engine = make_engine(ds.url)
    try:
        async with engine.connect() as conn:
            q = (select(activities.c.id)
                 .where(activities.c.org_id == ds.org_id, activities.c.target_user_id == ds.hot_user_id)
                 .order_by(activities.c.id.desc()).offset(n - 1).limit(1))
            return int((await conn.execute(q)).scalar_one())
    finally:
        await engine.dispose()


def measure_export(ours: Server, headers: dict[str, str]) -> dict[str, Any]:
    import httpx

    url = f"http://127.0.0.1:{ours.port}/exports/certificates.csv"
    with httpx.Client(timeout=600) as client:
        probe = client.get(url, headers=headers, params={"search": "no such certificate"})
        if probe.status_code == 404:
            return {"status": "no /exports/certificates.csv route"}
        if probe.status_code != 200:
            return {"status": f"HTTP {probe.status_code}: {probe.text[:200]}"}
        runs = []
        for _ in range(2):  # the second is reported (the first warms the database's cache)
            workers = [p for p in ours.workers() if p != ours.proc.pid]
            start_rss = {p: rss_bytes(p) for p in workers}
            peak = dict(start_rss)
            stop = threading.Event()

            def sample(workers: list[int] = workers, peak: dict[int, int] = peak, stop: threading.Event = stop) -> None:
                while not stop.wait(0.01):
                    for p in workers:
                        peak[p] = max(peak[p], rss_bytes(p))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            lines = size = 0
            t = time.perf_counter()
            with client.stream("GET", url, headers=headers) as r:
                status = r.status_code
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            elapsed = time.perf_counter() - t
            stop.set()
            sampler.join()
            growth = max((peak[p] - start_rss[p] for p in workers), default=0)
            runs.append({"status": "ok" if status == 200 else f"HTTP {status}", "rows": max(0, lines - 1),
                         "seconds": elapsed, "mb": size / 2**20, "rss_growth_mb": growth / 2**20,
                         "rss_mb": max(peak.values(), default=0) / 2**20})
    return runs[-1]


def profile_ours(ours: Server, body: bytes, headers: dict[str, str], clients: int, duration: float, tool: str,
                 tmp: Path) -> str:
    spy = shutil.which("py-spy") or (str(Path(sys.executable).parent / "py-spy")
                                     if (Path(sys.executable).parent / "py-spy").exists() else None)
    if spy is None:
        return "py-spy is not installed (pip install py-spy into .venv to profile)"
    out = tmp / "profile.txt"
    rec = subprocess.Popen([spy, "record", "--pid", str(ours.proc.pid), "--subprocesses", "--duration",
                            str(int(duration)), "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(1.0)
    if tool == "wrk":
        run_wrk(ours.url, body, headers, clients, duration, tmp)
    else:
        run_python_load(ours.url, body, headers, clients, duration)
    try:
        rec.wait(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        rec.kill()
    if not out.exists():
        return f"py-spy produced no profile: {(rec.stdout.read() if rec.stdout else b'').decode()[-300:]}"
    kept = LOG_DIR / f"profile-{ours.log.stem}.txt"  # collapsed stacks, e.g. for a flame graph
    shutil.copy(out, kept)
    return summarise_profile(out.read_text()) + f"\n(collapsed stacks in {kept})"


_PACKAGES = {
    "graphql": "graphql-core", "strawberry": "strawberry", "sqlalchemy": "sqlalchemy", "asyncpg": "asyncpg",
    "aiosqlite": "aiosqlite", "aiodataloader": "aiodataloader", "starlette": "starlette", "uvicorn": "uvicorn",
    "jwt": "pyjwt", "prometheus_client": "prometheus_client", "asyncio": "asyncio", "json": "json", "enum.py": "enum",
    "typing.py": "typing", "dataclasses.py": "dataclasses", "uuid.py": "uuid", "logging": "logging",
    "threading.py": "threading", "base64.py": "base64", "datetime.py": "datetime", "inspect.py": "inspect",
    "functools.py": "functools", "abc.py": "abc", "copy.py": "copy", "contextlib.py": "contextlib",
}


def _bucket(frame: str) -> str:
    """A py-spy frame `function (path/to/module.py:line)`: the package it belongs to."""
    m = re.search(r"\(([^()]*?):\d+\)$", frame)
    if not m:
        return "native / unknown"
    path = m.group(1)
    if path.startswith("graphql/"):
        part = path.split("/")[1]
        return {"language": "graphql-core: parse", "validation": "graphql-core: validate",
                "execution": "graphql-core: execute"}.get(part, "graphql-core: other")
    if path == "<string>":
        return "generated code (dataclass __init__ ...)"
    if path.startswith("asyncio/runners.py"):
        return "event loop (uvloop, C)"
    if "/app/" in f"/{path}":
        part = path.split("app/", 1)[1]
        return "app." + part.split("/", 1)[0].removesuffix(".py")
    top = path.split("site-packages/")[-1].lstrip("/").split("/", 1)[0]
    return _PACKAGES.get(top, top)


def _idle(frame: str) -> bool:
    """Threads that only wait (aiosqlite's worker between statements, the event loop in select)."""
    return frame.startswith(("_connection_worker_thread (aiosqlite", "select (selectors", "Connection._recv (multiprocessing",
                             "Connection._poll (multiprocessing", "wait (multiprocessing"))


def summarise_profile(raw: str) -> str:
    """py-spy's collapsed stacks: self time by package, time inside (inclusive) key packages, top
    functions by self time."""
    self_by: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    funcs: Counter[str] = Counter()
    total = idle = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        # py-spy prefixes `process PID:"command line"` (which may hold `;`) and `thread (...)`
        stack = re.sub(r'^(process \d+:"[^"]*";?)+', "", stack)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        leaf = frames[-1]
        if _idle(leaf):
            idle += n
            continue
        total += n
        self_by[_bucket(leaf)] += n
        funcs[leaf] += n
        for label in {_bucket(f) for f in frames}:
            incl[label] += n
    if not total:
        return "empty profile"
    lines = [f"py-spy, {total} busy samples over our workers at 200 Hz ({idle} samples of waiting threads and the "
             "uvicorn supervisor left out); "
             "self time by package:"]
    lines += [f"  {label:<40} {100 * n / total:5.1f} %" for label, n in self_by.most_common(16)]
    lines.append("inclusive (a frame of the package anywhere on the stack):")
    lines += [f"  {label:<40} {100 * incl[label] / total:5.1f} %" for label in
              ("graphql-core: parse", "graphql-core: validate", "graphql-core: execute", "strawberry", "app.schema",
               "app.persistence", "aiodataloader", "sqlalchemy", "asyncpg", "aiosqlite", "asyncio", "starlette",
               "pyjwt", "json") if incl[label]]
    lines.append("top functions by self time:")
    lines += [f"  {100 * n / total:5.1f} %  {name[:110]}" for name, n in funcs.most_common(12)]
    return "\n".join(lines)


def run_db(db: str, args: argparse.Namespace, tmp: Path, tool: str) -> DbReport:
    import httpx

    from app.adapters.jwt import sign_token
    from app.config import Settings
    from app.domain.common.principal import Role

    rep = DbReport(db=db)
    started = time.perf_counter()
    url = bench_data.default_url(db, args.scale)
    if db == "postgresql":
        url = f"{args.pg_server}/bench_dashboard_{bench_data.scale_tag(args.scale)}"
        try:
            asyncio.run(_pg_ping(args.pg_server))
        except Exception as exc:
            rep.note = f"SKIPPED - PostgreSQL not reachable at {args.pg_server}: {exc}"
            say(f"\n== {db}: {rep.note}")
            return rep
    say(f"\n== {db}: {url}")
    t = time.perf_counter()
    ds = asyncio.run(bench_data.ensure(url, args.scale, args.reuse))
    rep.data_seconds = time.perf_counter() - t
    rep.note = (f"{ds.rows.get('users', 0):,} users, {ds.rows.get('activities', 0):,} history entries "
                f"(hot user {ds.hot_entries:,}), scale {ds.scale:g}")

    say("statements per request (in-process, our app):")
    rep.statements = asyncio.run(count_statements(ds, args.first))
    for first, s in rep.statements.items():
        say(f"  first: {first:<4} {s['statements']} statements ({s['selects']} SELECT; {dict(s['kinds'])}), "
            f"{s['checkouts']} pool checkouts, {s['users']} users{'; ERRORS ' + str(s['errors'])[:200] if s['errors'] else ''}")
    for line in rep.statements[args.first[0]]["sql"]:
        say(f"      {line}")

    settings = Settings.from_env({}, database_url=url)
    token = sign_token(settings, ds.admin_id, ds.cvr, [Role.USER_ADMINISTRATOR], ttl=3600 * 6)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    env = server_env(url)
    servers: dict[str, Server] = {}
    bodies: dict[str, dict[int, bytes]] = {}
    try:
        port = free_port()
        proc, log = start_process(f"ours-{db}", uvicorn_cmd("app.entrypoints.http.app:create_app", port, args.workers), env, ROOT)
        servers["ours"] = Server("ours", "ours, compiled plans", port, proc, log, "/graphql",
                                 version=f"uvicorn x{args.workers}")
        if not args.no_general:
            port = free_port()
            proc, log = start_process(f"general-{db}", uvicorn_cmd("app.entrypoints.http.app:create_app", port,
                                                                   args.workers),
                                      {**env, "COMPILED_OPERATIONS": "off"}, ROOT)
            servers["general"] = Server("general", "ours, general executor", port, proc, log, "/graphql",
                                        version=f"uvicorn x{args.workers}")
        port = free_port()
        proc, log = start_process(f"baseline-{db}", uvicorn_cmd("bench.baseline_app:create_app", port, args.workers),
                                  env, ROOT)
        servers["baseline"] = Server("baseline", "baseline (Starlette+SQL)", port, proc, log, "/dashboard",
                                     version=f"uvicorn x{args.workers}")
        bodies["ours"] = {f: json.dumps({"query": QUERY, "variables": {"first": f}}).encode() for f in args.first}
        bodies["general"] = bodies["ours"]
        bodies["baseline"] = {f: json.dumps({"first": f}).encode() for f in args.first}
        client = httpx.Client(timeout=120)
        for name in [n for n in ("ours", "general", "baseline") if n in servers]:
            s = servers[name]
            why = wait_ready(s, lambda s=s, name=name: client.post(
                s.url, content=bodies[name][args.first[0]], headers=auth).status_code == 200)
            if why:
                raise RuntimeError(f"{name} did not start: {why}")

        if db == "postgresql" and not args.no_peer and args.peer != "none":
            rep.peer = start_peer(servers, bodies, url, ds, args, client)

        # identical answers (ours and the baseline)
        for first in args.first:
            a = client.post(servers["ours"].url, content=bodies["ours"][first], headers=auth)
            b = client.post(servers["baseline"].url, content=bodies["baseline"][first], headers=auth)
            da, db_ = a.json(), b.json()
            if da.get("errors") or "data" not in da:
                rep.identity[first] = f"ours returned errors: {str(da)[:300]}"
            elif normalised(da["data"]) == normalised(db_.get("data")):
                n = len(da["data"]["users"]["edges"])
                rep.identity[first] = (f"IDENTICAL ({n} users; ours {len(a.content):,} B, baseline {len(b.content):,} B)")
            else:
                rep.identity[first] = f"DIFFERENT: {_first_difference(da['data'], db_.get('data'))}"
            say(f"data of ours == baseline, first: {first}: {rep.identity[first]}")
            if "peer" in servers:
                p = client.post(servers["peer"].url, content=bodies["peer"][first], headers={"Content-Type": "application/json"})
                pj = p.json()
                if pj.get("errors"):
                    say(f"  peer, first: {first}: ERRORS {str(pj['errors'])[:300]}")
                elif "data" in da:
                    ours_ids = [e["node"]["uuid"] for e in da["data"]["users"]["edges"]]
                    peer_nodes = pj["data"]["allUsers"]["nodes"]
                    uuid_key = "rowId" if peer_nodes and "rowId" in peer_nodes[0] else "id"
                    peer_ids = [n[uuid_key] for n in peer_nodes]
                    deleted = sum(1 for n in peer_nodes if n.get("status") == "DELETED")
                    say(f"  peer, first: {first}: {len(peer_nodes)} users, {len(p.content):,} B; "
                        f"{len(set(ours_ids) & set(peer_ids))} of ours on its page ({deleted} DELETED users there, "
                        "which ours and the baseline leave out)")

        # load rounds
        for first in args.first:
            for clients in args.clients:
                base_rps = None
                for name in ("ours", "general", "baseline", "peer"):
                    if name not in servers:
                        continue
                    s = servers[name]
                    headers = auth if name != "peer" else {"Content-Type": "application/json"}
                    r = load_round(s, bodies[name][first], headers, clients, args, tool, tmp,
                                   (1 + len(s.replicas)) if name == "peer" else args.workers)
                    if s.proc.poll() is not None:
                        r.error_detail += f" (server exited: {s.log_tail(5)})"
                    row = {"db": db, "first": first, "clients": clients, "server": s.label, "name": name,
                           "rps": r.rps, "p50": r.p50_ms, "p99": r.p99_ms, "errors": r.errors,
                           "error_detail": r.error_detail, "cpu_ms": r.server_cpu_ms, "db_cpu_ms": r.db_cpu_ms,
                           "requests": r.requests, "seconds": r.seconds, "alone_ms": r.alone_ms,
                           "little": bool(r.little), "skipped": r.skipped,
                           "client_cpu": r.client_cpu_s / max(r.seconds, 1e-9), "tool": r.tool}
                    if name == "baseline" and not r.skipped:
                        base_rps = r.rps
                    rep.rows.append(row)
                    if r.skipped:
                        say(f"  {db:<10} first {first:<4} {clients:>3} clients  {s.label:<28} {r.skipped}")
                        continue
                    say(f"  {db:<10} first {first:<4} {clients:>3} clients  {s.label:<28} {r.rps:8.1f} req/s"
                        f"{' (Little)' if r.little else ''}  p50 {r.p50_ms:8.1f} ms  p99 {r.p99_ms:8.1f} ms  "
                        f"errors {r.errors}  {r.requests} requests in {r.seconds:.1f} s; alone {r.alone_ms:.1f} ms; "
                        f"CPU/req server {r.server_cpu_ms:.2f} ms"
                        + (f", PostgreSQL {r.db_cpu_ms:.2f} ms" if r.db_cpu_ms else "")
                        + f"; client CPU {100 * row['client_cpu']:.0f} %"
                        + (f"; busy {r.settle_s:.1f} s after the round" if r.settle_s > 1 else "")
                        + (f"  [{r.error_detail}]" if r.error_detail else ""))
                for row in rep.rows:
                    if row["first"] == first and row["clients"] == clients and base_rps and not row["skipped"]:
                        row["ratio"] = row["rps"] / base_rps

        rep.cold = measure_cold(client, servers, auth, args.first[0], max(args.history_reps, 5))
        say("a first-seen document (first: " + str(args.first[0]) + "), median of sequential requests: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in rep.cold.items()))

        say("history of the hot user, page 1 vs page 1000 (ours, sequential requests):")
        rep.history = measure_history(client, servers["ours"], auth, ds, args.history_reps)
        h = rep.history
        say(f"  {h['size']} per page of {h['entries']:,} entries: page 1 {h['page1_ms']:.1f} ms, page 1000 "
            f"{h['page1000_ms']:.1f} ms (median of {h['reps']}), ratio {h['ratio']:.2f}; cursor chain "
            f"{'ok' if h['chained_ok'] else 'BROKEN'}, page 1000 has {h['page1000_rows']} entries")

        say("certificate export (GET /exports/certificates.csv, ours):")
        rep.export = measure_export(servers["ours"], auth)
        e = rep.export
        if "rows" in e:
            say(f"  {e['status']}: {e['rows']:,} rows, {e['mb']:.1f} MB in {e['seconds']:.2f} s = "
                f"{e['rows'] / e['seconds']:,.0f} rows/s; serving worker RSS peak {e['rss_mb']:.0f} MB "
                f"(+{e['rss_growth_mb']:.1f} MB)")
        else:
            say(f"  {e['status']}")

        if args.profile:
            say(f"profiling ours (first: {args.first[0]}, {args.clients[0]} clients, {args.duration:g} s) with py-spy ...")
            rep.profile = profile_ours(servers["ours"], bodies["ours"][args.first[0]], auth, args.clients[0],
                                       args.duration, tool, tmp)
            say(rep.profile)
        client.close()
    finally:
        for s in servers.values():
            s.stop()
    rep.seconds = time.perf_counter() - started
    rep.note += f"; data {rep.data_seconds:.0f} s, this database's run {rep.seconds:.0f} s"
    return rep


async def _pg_ping(server: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    await conn.close()


def start_peer(servers: dict[str, Server], bodies: dict[str, dict[int, bytes]], url: str, ds: bench_data.Dataset,
               args: argparse.Namespace, client: Any) -> str:
    """PostGraphile v5, else v4; the first that installs, starts and answers the query is the peer."""
    t = time.perf_counter()
    asyncio.run(install_peer_functions(url))
    dsn = url.replace("postgresql+asyncpg://", "postgres://")
    env = dict(os.environ, GRAPHILE_ENV="production", NODE_ENV="production")
    failures: list[str] = []
    for candidate in {"auto": (peer_v5, peer_v4), "v5": (peer_v5,), "v4": (peer_v4,)}[args.peer]:
        cmd, version = candidate()
        if cmd is None:
            failures.append(version)
            say(f"peer: {version}")
            continue
        port = free_port()
        proc, log = start_process("peer", [*cmd, "-c", dsn, "-s", "public", "-n", "127.0.0.1", "-p", str(port)], env,
                                  PEER_DIR)
        peer = Server("peer", "peer (PostGraphile)", port, proc, log, "/graphql", version=version)
        why = wait_ready(peer, lambda peer=peer: client.post(peer.url, json={"query": "{ __typename }"}).status_code == 200)
        query, qnote = (None, why) if why else peer_query(client, peer.url)
        if query is not None:
            bodies["peer"] = {f: json.dumps({"query": query, "variables": {"first": f, "org": ds.org_id}}).encode()
                              for f in args.first}
            r = client.post(peer.url, content=bodies["peer"][args.first[0]], headers={"Content-Type": "application/json"})
            if r.status_code != 200 or r.json().get("errors"):
                query, qnote = None, f"its query failed: {r.status_code} {r.text[:300]}"
        if query is None:
            peer.stop()
            failures.append(f"{version}: {qnote}")
            say(f"peer: {version} not usable: {qnote}")
            continue
        for _ in range(max(args.peer_processes, 1) - 1):
            port = free_port()
            proc, log = start_process(f"peer-{len(peer.replicas) + 2}",
                                      [*cmd, "-c", dsn, "-s", "public", "-n", "127.0.0.1", "-p", str(port)], env,
                                      PEER_DIR)
            replica = Server("peer", "peer (PostGraphile)", port, proc, log, "/graphql", version=version)
            peer.replicas.append(replica)
            why = wait_ready(replica, lambda r=replica: client.post(r.url, content=bodies["peer"][args.first[0]],
                                                                   headers={"Content-Type": "application/json"})
                             .status_code == 200)
            if why:
                peer.stop()
                raise RuntimeError(f"a second peer process did not start: {why}")
        n = 1 + len(peer.replicas)
        peer.label = f"peer (PostGraphile) x{n}"
        servers["peer"] = peer
        msg = (f"peer: {version}, {n} Node process{'es' if n > 1 else ''} (the load split between them), ready in "
               f"{time.perf_counter() - t:.0f} s"
               + (f" (after: {'; '.join(failures)})" if failures else "") + (f"; {qnote}" if qnote else ""))
        say(msg)
        say("  peer query: " + " ".join(query.split()))
        return msg
    msg = f"peer: NOT RUN - {' | '.join(failures)}"
    say(msg)
    return msg


def _first_difference(a: Any, b: Any, path: str = "data") -> str:
    if type(a) is not type(b):
        return f"{path}: {str(a)[:80]} vs {str(b)[:80]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k} missing on one side"
            if normalised(a[k]) != normalised(b[k]):
                return _first_difference(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if normalised(x) != normalised(y):
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {str(a)[:80]} vs {str(b)[:80]}"


# --- the table ---------------------------------------------------------------------------------------


def print_tables(reports: list[DbReport], args: argparse.Namespace, tool: str) -> None:
    say("\n" + "=" * 118)
    say(f"Dashboard benchmark - Python {pyplatform.python_version()}, {os.cpu_count()} CPUs, scale {args.scale:g}, "
        f"{args.duration:g} s per round (+{args.warmup:g} s warm-up), load by {tool}, "
        f"ours and baseline: uvicorn {args.workers} workers")
    head = (f"{'db':<10} {'first':>5} {'clients':>7}  {'server':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'errors':>6} {'CPU ms/req':>10} {'PG ms/req':>9} {'vs baseline':>11}")
    for rep in reports:
        say("")
        say(f"{rep.db}: {rep.note}")
        if not rep.rows:
            continue
        say(head)
        say("-" * len(head))
        for r in rep.rows:
            if r["skipped"]:
                say(f"{r['db']:<10} {r['first']:>5} {r['clients']:>7}  {r['server']:<28} "
                    f"{'-':>8} {'-':>8} {'-':>8} {'-':>6} {'-':>10} {'-':>9} {'-':>11}  (alone {r['alone_ms']:.0f} ms; "
                    f"round too long for --max-round)")
                continue
            ratio = f"{100 * r['ratio']:.1f} %" if r.get("ratio") is not None else "-"
            rps = ("~" if r["little"] else "") + f"{r['rps']:.1f}"
            if not r["requests"]:
                rps, ratio = f"<{r['clients'] / max(r['seconds'], 1e-9):.1f}", "-"
            pg = f"{r['db_cpu_ms']:.2f}" if r["db_cpu_ms"] else "-"
            say(f"{r['db']:<10} {r['first']:>5} {r['clients']:>7}  {r['server']:<28} {rps:>8} {r['p50']:>8.1f} "
                f"{r['p99']:>8.1f} {r['errors']:>6} {r['cpu_ms']:>10.2f} {pg:>9} {ratio:>11}")
        stm = ", ".join(f"first {f}: {s['statements']} ({s['selects']} SELECT, {s['checkouts']} pool checkouts)"
                        for f, s in rep.statements.items())
        constant = len({s["statements"] for s in rep.statements.values()}) == 1
        say(f"SQL statements per request (ours): {stm} -> {'constant' if constant else 'NOT constant'} in `first`; "
            "target <= 6")
        say("SQL statements per request (baseline): 6 (status, users, authenticators, groups, certificates, history)")
        for f, ident in rep.identity.items():
            say(f"data identical, first {f}: {ident}")
        if rep.cold:
            say("first-seen document (parse, validation, plan), median ms: "
                + ", ".join(f"{k} {v:.1f}" for k, v in rep.cold.items()) + " (target: ours no slower than the general "
                "executor)")
        if rep.history:
            h = rep.history
            say(f"history page 1000 / page 1 ({h['size']} per page, {h['entries']:,} entries): "
                f"{h['page1000_ms']:.1f} / {h['page1_ms']:.1f} ms = {h['ratio']:.2f} (target <= 1.5)")
        if rep.export:
            e = rep.export
            if "rows" in e:
                say(f"certificate export: {e['rows']:,} rows in {e['seconds']:.2f} s = {e['rows'] / e['seconds']:,.0f} rows/s, "
                    f"{e['mb'] / e['seconds']:.1f} MB/s; serving worker peak RSS {e['rss_mb']:.0f} MB "
                    f"(+{e['rss_growth_mb']:.1f} MB during the export)")
            else:
                say(f"certificate export: {e['status']}")
        if rep.peer:
            say(rep.peer)
        by = {(r["name"], r["first"], r["clients"]): r for r in rep.rows if not r["skipped"]}
        for (name, first, clients), r in by.items():
            if name != "ours":
                continue
            base, peer, general = (by.get((n, first, clients)) for n in ("baseline", "peer", "general"))
            parts = [f"{100 * (r.get('ratio') or 0):.1f} % of the baseline's req/s (target >= 60 %)"]
            if base and base["cpu_ms"]:
                parts.append(f"server CPU {r['cpu_ms'] / base['cpu_ms']:.2f}x the baseline's (target <= 2x)")
            if peer and peer["rps"]:
                parts.append(f"{r['rps'] / peer['rps']:.2f}x the peer's req/s (target >= 2x)")
            if general and general["rps"]:
                parts.append(f"{r['rps'] / general['rps']:.2f}x our general executor's")
            say(f"target first {first}, {clients} clients: ours " + "; ".join(parts))
    say("req/s and latencies from the load tool (~ = fewer requests completed than clients: clients / mean "
        "latency, Little's law); CPU ms/req = the server's process tree CPU time (/proc) / requests; PG ms/req = all "
        "postgres processes' CPU / requests; vs baseline = req/s / the baseline's req/s, same page size and clients.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", nargs="+", choices=["postgresql", "sqlite"], default=["postgresql", "sqlite"])
    parser.add_argument("--scale", type=float, default=None, help="data scale (1.0 = 10k users, 1M history entries)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per load round (10)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up before each round (1)")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64], help="concurrent clients (16 64)")
    parser.add_argument("--first", type=int, nargs="+", default=[50, 500], help="page sizes (50 500)")
    parser.add_argument("--max-round", type=float, default=None,
                        help="longest load round in seconds (quick 15, else 90); longer rounds are skipped")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="uvicorn workers (cores)")
    parser.add_argument("--reuse", action="store_true", help="reuse a generated data set of this scale")
    parser.add_argument("--quick", action="store_true", help="scale 0.1, 5 s rounds, short warm-up")
    parser.add_argument("--peer", choices=["auto", "v5", "v4", "none"], default="auto",
                        help="PostGraphile: v5 (pinned, Node 22 from npm), else v4 on the system Node (auto)")
    parser.add_argument("--no-peer", action="store_true", help="skip PostGraphile (= --peer none)")
    parser.add_argument("--peer-processes", type=int, default=None,
                        help="PostGraphile processes, the load split between them (default: as many as --workers)")
    parser.add_argument("--no-general", action="store_true",
                        help="skip the row of our general executor (COMPILED_OPERATIONS=off)")
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto",
                        help="load generator: wrk when installed (auto), or the asyncio client")
    parser.add_argument("--profile", action="store_true", help="py-spy profile of ours under load (first page size)")
    parser.add_argument("--history-reps", type=int, default=None, help="requests per history page (30)")
    parser.add_argument("--pg-server", default=bench_data.DEFAULT_PG_SERVER,
                        help=f"PostgreSQL server, no database (default {bench_data.DEFAULT_PG_SERVER})")
    parser.add_argument("--load-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_child:
        spec = json.loads(args.load_child)
        with contextlib.suppress(ImportError):
            import uvloop

            uvloop.install()
        result = asyncio.run(_client_load(spec["host"], spec["port"], base64.b64decode(spec["request"]),
                                          spec["clients"], spec["duration"]))
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0
    if args.peer_processes is None:
        args.peer_processes = args.workers
    if args.scale is None:
        args.scale = 0.1 if args.quick else 1.0
    if args.duration is None:
        args.duration = 5.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 0.5 if args.quick else 1.0
    if args.max_round is None:
        args.max_round = 3 * args.duration if args.quick else 90.0
    args.current_db = ""
    if args.history_reps is None:
        args.history_reps = 15 if args.quick else 30
    tool = args.load if args.load != "auto" else ("wrk" if shutil.which("wrk") else "python")
    if tool == "wrk" and not shutil.which("wrk"):
        say("wrk is not installed; using the asyncio client")
        tool = "python"
    started = time.perf_counter()
    say(f"dashboard benchmark: {', '.join(args.db)}; scale {args.scale:g}; first {args.first}; clients {args.clients}; "
        f"{args.duration:g} s rounds; load by {tool}; logs in {LOG_DIR}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    reports = []
    failed = False
    try:
        for db in args.db:
            args.current_db = db
            try:
                reports.append(run_db(db, args, tmp, tool))
            except Exception as exc:  # keep the other database's figures
                import traceback

                traceback.print_exc()
                reports.append(DbReport(db=db, note=f"FAILED: {type(exc).__name__}: {exc}"))
                failed = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_tables(reports, args, tool)
    say(f"total benchmark time {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
