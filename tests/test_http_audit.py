"""graphql-http's `serverAudits` (the GraphQL-over-HTTP specification's own conformance checks,
npm `graphql-http`, pinned by tests/http_audit/package-lock.json, installed into var/graphql-http)
against the gateway served by uvicorn on a loopback port: every MUST and SHOULD passes, and the
MAYs too. Without npm the test is skipped, saying so; CI (.ci/run) installs it."""

from __future__ import annotations

import asyncio
import filecmp
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import Env
from tests.loopback import serve

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "http_audit"
INSTALLED = ROOT / "var" / "graphql-http"


def _ensure_installed(npm: str) -> None:
    """The pinned packages in var/graphql-http (as `make http-audit-deps` installs them)."""
    lock = INSTALLED / "package-lock.json"
    if (INSTALLED / "node_modules" / "graphql-http").is_dir() and lock.exists() and \
            filecmp.cmp(lock, PINNED / "package-lock.json", shallow=False):
        return
    INSTALLED.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PINNED / name, INSTALLED / name)
    subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=INSTALLED, check=True, timeout=300)


def _level(name: str) -> str:
    return next(level for level in ("MUST", "SHOULD", "MAY") if name.startswith(level))


async def test_graphql_http_server_audits_all_pass(env: Env) -> None:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("npm/node not installed: graphql-http's serverAudits need them (CI installs them)")
    _ensure_installed(npm)
    async with serve(env.client._transport.app) as base:  # type: ignore[attr-defined]
        process = await asyncio.create_subprocess_exec(
            node, str(PINNED / "audit.cjs"), f"{base}/graphql",
            env={**os.environ, "NODE_PATH": str(INSTALLED / "node_modules")},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    results = [json.loads(line) for line in out.decode().splitlines()]
    failed = [r for r in results if r["status"] != "ok"]
    counts = Counter((_level(r["name"]), r["status"]) for r in results)
    print(f"graphql-http serverAudits on {env.backend}: " + ", ".join(
        f"{level} {counts[(level, 'ok')]}/{sum(n for (lv, _), n in counts.items() if lv == level)}"
        for level in ("MUST", "SHOULD", "MAY")))
    assert (counts[("MUST", "ok")], counts[("SHOULD", "ok")]) == (13, 23), counts  # graphql-http 1.23.1 has 13 and 23
    assert failed == [], failed
