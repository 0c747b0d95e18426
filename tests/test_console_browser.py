"""The admin console (issue 19) in a real headless Chromium (Debian's package, driven by playwright),
against the real server (uvicorn in its own process) on SQLite and PostgreSQL, with the browser's
network off: everything comes from the gateway, under the console's Content-Security-Policy.

As a user administrator: sign in with a pasted bearer token, the dashboard's counts, the users list
(search, status filter), create a CPR user (an activation email, no code) and a date-of-birth user
(the temporary code shown once), a userError next to its field, edit a user, deactivate, reactivate
and delete with confirmation, billing and settings without controls. As an organisation
administrator: no create control, change a setting (saved, as the API then says). On each page
axe-core (the copy pinned in web/console's package-lock.json) reports no serious or critical
violation. The token is kept in sessionStorage only, and gone after signing out.

The console is built by `make console-assets` (which `make test` runs) into var/console; without
that build, axe-core's installed file, Chromium or playwright the test is skipped, saying which.
`CONSOLE_SCREENSHOTS=docs/console` writes the screenshots there (the README's pictures)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.http.console import CSP
from app.persistence.migrate import upgrade
from tests.conftest import _free_port, _postgres_database
from tests.factories import OrgFixture, make_org
from tests.test_bulk_import import csv_file, person

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
BUILD = Path(os.environ.get("CONSOLE_ASSETS", ROOT / "var" / "console"))
AXE = ROOT / "web" / "console" / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL_PATH = "/__test__/axe.min.js"  # answered by the test itself (same origin, so the CSP allows it)
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
RECORD_VIOLATIONS = """
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
        {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""
AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
}"""
STORAGE = "() => JSON.stringify({local: {...localStorage}, session: {...sessionStorage}})"
ISSUE = """mutation($input: IssueCertificateInput!) { issueUserCertificate(input: $input) {
    certificate { id status } userErrors { field code message } } }"""
CREATE_GROUP = """mutation($input: CreateUserGroupInput!) { createUserGroup(input: $input) {
    group { id } userErrors { field code message } } }"""
SETTINGS_QUERY = "{ settings { userCreation { anonymityAllowed } } }"


def dob(n: int, cvr: str) -> dict[str, str]:
    """A CSV row of a date-of-birth user."""
    return {"Fornavn": f"Bjørk{n}", "Efternavn": "Lærkegård", "E-mail": f"bjoerk{n}.{cvr}@example.dk",
            "Fødselsdato": f"{1 + n % 28:02d}-04-1988"}


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed ({CHROMIUM}); .ci/run installs Debian's chromium package"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if (failed := BUILD / "build-failed.log").is_file():
        pytest.fail(f"the console did not build (`make console-assets`):\n{failed.read_text(errors='replace')[-4000:]}")
    if not (BUILD / "index.html").is_file():
        return f"the console is not built in {BUILD} (`make console-assets`, which needs npm)"
    if not AXE.is_file():
        return f"axe-core is not installed at {AXE} (`make console-assets` installs web/console's packages)"
    return None


@contextlib.asynccontextmanager
async def _database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    else:
        async with _postgres_database() as url:
            yield url


@contextlib.asynccontextmanager
async def _server(database_url: str, work: Path | None = None) -> AsyncIterator[str]:
    """The gateway in its own process; with a `work` folder its background tasks run too (the import
    jobs, the outbox: mail goes to a Maildir there, uploads wait there)."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "BACKGROUND_TASKS": "0", "CONSOLE_ASSETS": str(BUILD),
           "PUBLIC_BASE_URL": origin}
    if work is not None:
        # Run from the work folder: what the development defaults keep under var/ (the PKI root made
        # per address, mail, uploads) stays there, not in the repository's var/.
        env.update(BACKGROUND_TASKS="1", MAIL_DIR=str(work / "mail"), UPLOAD_DIR=str(work / "uploads"),
                   BULK_POLL_SECONDS="0.2", SMTP_URL="", PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.entrypoints.http.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], cwd=work or ROOT, env=env, start_new_session=True,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(150):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{origin}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the gateway did not start")
        yield origin
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


async def _graphql(origin: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{origin}/graphql", json={"query": query, "variables": variables or {}},
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


class Browser:
    """One page with its recorders: requests elsewhere, CSP violations, console and page errors,
    and the axe findings of every page checked."""

    def __init__(self, page: Any, origin: str, shots: Path) -> None:
        self.page, self.origin, self.shots = page, origin, shots
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.axe: dict[str, list[Any]] = {}
        self.sockets: list[str] = []
        page.on("websocket", lambda ws: self.sockets.append(ws.url))
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def main(self) -> Any:
        return self.page.locator("main")

    async def heading(self, text: str) -> None:
        h1 = self.page.locator("main h1")
        await h1.filter(has_text=text).wait_for(timeout=15_000)

    async def check(self, name: str, *, screenshot: bool = True) -> None:
        """axe-core on the page as it is now (injected from the installed file, same origin)."""
        if not await self.page.evaluate("() => typeof window.axe === 'object'"):
            await self.page.add_script_tag(url=self.origin + AXE_URL_PATH)
        self.axe[name] = await self.page.evaluate(AXE_RUN)
        if screenshot:
            # Temporary activation codes are painted over (a throwaway database's, but a secret's shape).
            await self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True,
                                       mask=[self.page.locator(".code")])

    async def menu(self, label: str) -> None:
        await self.page.get_by_role("navigation", name="Menu").get_by_role("link", name=label, exact=True).click()
        await self.heading(label)

    async def sign_in(self, token: str, *, as_printed: bool = False) -> None:
        """The token pasted as `make run` prints it ("Authorization: Bearer …") or as "Bearer …"."""
        text = f"  Authorization: Bearer {token}\n" if as_printed else f"Bearer {token}"
        await self.page.get_by_label("Adgangstoken").fill(text)
        await self.page.get_by_role("button", name="Log ind").click()


async def _user_administrator(b: Browser, org: OrgFixture, partner: OrgFixture, token: str, holder: str
                              ) -> dict[str, Any]:
    page = b.page
    seen: dict[str, Any] = {}

    response = await page.goto(f"{b.origin}/console")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == CSP
    await b.heading("Log ind")
    # A token the gateway refuses: the error is tied to the field, the console stays closed.
    await b.sign_in("not-a-token")
    field = page.get_by_label("Adgangstoken")
    await page.locator("#token-fejl").wait_for(timeout=10_000)
    assert await field.get_attribute("aria-invalid") == "true"
    assert "token-fejl" in (await field.get_attribute("aria-describedby") or "")
    await b.check("sign-in")

    await b.sign_in(token, as_printed=True)
    await b.heading("Overblik")
    # Focus moves to the page's heading after navigation (screen readers announce the new page).
    assert await page.evaluate("() => document.activeElement?.tagName") == "H1"
    cards = page.get_by_role("list", name="Brugere pr. status")
    await cards.get_by_text("I alt").wait_for()
    seen["dashboard"] = await cards.inner_text()
    await page.get_by_role("list", name="Brugergrupper").get_by_text("Systemgrupper").wait_for()
    await page.wait_for_function(
        "() => [...document.querySelectorAll('ul[aria-label=\"Brugergrupper\"] .count')]"
        ".every(e => /^\\d+$/.test(e.textContent))", timeout=10_000)
    seen["dashboard_groups"] = await page.get_by_role("list", name="Brugergrupper").inner_text()
    seen["dashboard_certificates"] = await page.get_by_role("list", name="Certifikater").inner_text()
    menu = await page.get_by_role("navigation", name="Menu").inner_text()
    seen["ua_menu"] = menu
    await b.check("dashboard")

    await b.menu("Brugere")
    assert await page.evaluate("() => document.activeElement?.textContent") == "Brugere"
    status = page.get_by_role("status").filter(has_text="brugere")
    await status.filter(has_text=f"af {len(Role)} brugere").wait_for(timeout=10_000)
    await b.check("users")

    # Create a CPR user: first a CPR that is no date (the userError next to its field), then a good one.
    await page.get_by_role("link", name="Opret bruger").click()
    await b.heading("Opret bruger")
    await page.get_by_label("Fornavn").fill("Søren")
    await page.get_by_label("Efternavn").fill("Ærø-Åberg")
    await page.get_by_label("E-mail").fill(f"soeren.{org.cvr}@example.dk")
    await page.get_by_label("CPR-nummer", exact=True).fill("320190-1234")
    await page.get_by_role("button", name="Opret bruger").click()
    cpr = page.get_by_label("CPR-nummer", exact=True)
    await page.locator(".field-error").first.wait_for(timeout=10_000)
    assert await cpr.get_attribute("aria-invalid") == "true"
    error_id = (await cpr.get_attribute("aria-describedby") or "").split()[-1]
    seen["cpr_error"] = await page.locator(f"[id='{error_id}']").inner_text()
    seen["cpr_error_focused"] = await page.evaluate("() => document.activeElement?.getAttribute('name')")
    await b.check("create-user-error", screenshot=False)
    await cpr.fill("010190-1234")
    await page.get_by_role("button", name="Opret bruger").click()
    created = page.locator(".success")
    await created.wait_for(timeout=10_000)
    seen["cpr_created"] = await created.inner_text()

    # A date-of-birth user: the temporary code, once.
    await page.get_by_role("button", name="Opret en bruger mere").click()
    await page.get_by_label("Fornavn").fill("Åse")
    await page.get_by_label("Efternavn").fill("Møller")
    await page.get_by_label("E-mail").fill(f"aase.{org.cvr}@example.dk")
    await page.get_by_label("Fødselsdato (du får en midlertidig aktiveringskode)").check()
    await page.get_by_label("Fødselsdato", exact=True).fill("1985-04-12")
    await page.get_by_role("button", name="Opret bruger").click()
    await created.wait_for(timeout=10_000)
    seen["code"] = await created.locator(".code").inner_text()
    seen["dob_created"] = await created.inner_text()
    await b.check("create-user")
    await page.get_by_role("link", name="Gå til brugeren").click()
    await b.heading("Åse Møller")
    seen["code_on_user_page"] = seen["code"] in await page.content()

    # Edit: a bad phone number (its userError), then a good one.
    await page.get_by_label("Telefon", exact=True).fill("12")
    await page.get_by_role("button", name="Gem ændringer").click()
    await page.get_by_label("Telefon", exact=True).and_(page.locator("[aria-invalid='true']")).wait_for(timeout=10_000)
    await page.get_by_label("Telefon", exact=True).fill("+45 12 34 56 78")
    await page.get_by_label("Reference", exact=True).fill("Lønkontoret")
    await page.get_by_role("button", name="Gem ændringer").click()
    await page.get_by_text("Ændringerne er gemt.").wait_for(timeout=10_000)

    # Authenticators, P-unit, and the history with its type and date filters.
    await page.get_by_role("checkbox", name="MitID-app").check()
    await page.get_by_role("button", name="Gem autentifikatorer").click()
    await page.get_by_text("Autentifikatorerne er gemt.").wait_for(timeout=10_000)
    await page.get_by_role("combobox", name="Brugerens P-enhed").select_option(org.p_numbers[1])
    await page.get_by_role("button", name="Gem P-enhed").click()
    await page.get_by_text("P-enheden er gemt.").wait_for(timeout=10_000)
    history = page.get_by_role("region", name="Historik")
    await page.get_by_role("button", name="Vis historik").click()
    await history.get_by_role("row").filter(has_text="P-enhed ændret").wait_for(timeout=10_000)
    seen["history"] = await history.get_by_role("table").inner_text()
    await b.check("user")
    await history.get_by_role("combobox", name="Hændelse").select_option("AUTHENTICATORS_CHANGED")
    await page.get_by_role("button", name="Vis historik").click()
    await history.get_by_role("status").filter(has_text="1 hændelse").wait_for(timeout=10_000)
    seen["history_by_type"] = await history.get_by_role("table").inner_text()
    await history.get_by_label("Fra").fill("2000-01-01")
    await history.get_by_label("Til og med").fill("2000-12-31")
    await page.get_by_role("button", name="Vis historik").click()
    await history.get_by_role("status").filter(has_text="0 hændelser").wait_for(timeout=10_000)

    # A new temporary code (the old one stops working): shown once, different from the first.
    await page.get_by_role("button", name="Dan ny aktiveringskode").click()
    fresh = page.locator(".success .code")
    await fresh.wait_for(timeout=10_000)
    seen["new_code"] = await fresh.inner_text()

    # Delete, confirmed in a modal dialog; Escape closes it and the focus returns to its opener.
    await page.get_by_role("button", name="Slet…").click()
    dialog = page.get_by_role("dialog", name="Slet Åse Møller?")
    await dialog.wait_for()
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")
    seen["focus_after_escape"] = await page.evaluate("() => document.activeElement?.textContent")
    await page.get_by_role("button", name="Slet…").click()
    await dialog.wait_for()
    await b.check("delete-dialog", screenshot=False)
    await dialog.get_by_role("button", name="Ja, slet brugeren").click()
    await b.heading("Brugere")

    # Search and filter the list; deactivate and reactivate the plain user.
    await page.get_by_role("combobox", name="Status").select_option("DELETED")
    await page.get_by_role("status").filter(has_text="Viser 1–1 af 1 bruger").wait_for(timeout=10_000)
    await page.get_by_role("combobox", name="Status").select_option("")
    await page.get_by_role("combobox", name="Identifikation").select_option("CPR")
    await page.locator("tbody").filter(has_text="Søren Ærø-Åberg").wait_for(timeout=10_000)
    await page.get_by_role("status").filter(has_text="Viser 1–1 af 1 bruger").wait_for(timeout=10_000)
    seen["cpr_rows"] = await page.locator("tbody").inner_text()
    await page.get_by_role("combobox", name="Identifikation").select_option("")
    await page.get_by_role("combobox", name="P-enhed").select_option(org.p_numbers[1])
    await page.get_by_role("status").filter(has_text="Ingen brugere matcher.").wait_for(timeout=10_000)
    await page.get_by_role("combobox", name="P-enhed").select_option("")
    await page.get_by_role("searchbox", name="Søg").fill("Søren")
    await page.keyboard.press("Enter")  # the search is a form: Enter submits it
    await page.get_by_role("status").filter(has_text="Viser 1–1 af 1 bruger").wait_for(timeout=10_000)
    seen["search_rows"] = await page.locator("tbody tr").count()
    await page.locator("tbody a").first.click()
    await b.heading("Søren Ærø-Åberg")
    await page.get_by_role("button", name="Send aktiveringsmail igen").click()
    await page.get_by_text("Aktiveringsmailen er sendt igen.").wait_for(timeout=10_000)
    await b.menu("Brugere")
    await page.get_by_role("searchbox", name="Søg").fill(org.emails[Role.USER])
    await page.get_by_role("button", name="Søg", exact=True).click()
    await page.get_by_role("status").filter(has_text="Viser 1–1 af 1 bruger").wait_for(timeout=10_000)
    await page.locator("tbody a").first.click()
    await page.get_by_role("button", name="Deaktivér…").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name="Deaktivér", exact=True).click()
    await page.get_by_role("button", name="Genaktivér").wait_for(timeout=10_000)
    seen["after_deactivate"] = await page.locator("dl.facts").first.inner_text()
    await page.get_by_role("button", name="Genaktivér").click()
    await page.get_by_role("button", name="Deaktivér…").wait_for(timeout=10_000)

    # Order a user certificate for them; the holder issues it through the API (a password: a
    # generated key); then revoke it from the certificates list.
    await page.get_by_role("button", name="Bestil medarbejdercertifikat").click()
    await page.get_by_text("Certifikatet er bestilt.").wait_for(timeout=15_000)
    mine = await _graphql(b.origin, holder, "{ viewer { user { certificates { id status } } } }")
    ordered = [c for c in mine["viewer"]["user"]["certificates"] if c["status"] == "ORDERED"]
    assert len(ordered) == 1, mine
    issued = await _graphql(b.origin, holder, ISSUE, {"input": {"certificateId": ordered[0]["id"],
                                                                 "password": "Hemmeligt-kodeord-1"}})
    assert issued["issueUserCertificate"]["userErrors"] == [], issued
    await b.menu("Certifikater")
    row = page.locator("tbody tr").filter(has_text="Udstedt")
    await row.first.wait_for(timeout=10_000)
    seen["certificate_row"] = await row.first.inner_text()
    await b.check("certificates")
    await row.first.get_by_role("button", name=re.compile("^Spær")).click()
    dialog = page.get_by_role("dialog")
    await dialog.wait_for()
    await dialog.get_by_role("button", name="Spær certifikatet").click()  # no reason chosen: its error
    await dialog.locator(".field-error").wait_for(timeout=5_000)
    await b.check("revoke-dialog", screenshot=False)
    await dialog.get_by_label("Årsag").select_option("KEY_LOST")
    await dialog.get_by_role("button", name="Spær certifikatet").click()
    await page.get_by_role("status").filter(has_text="certifikat er spærret").wait_for(timeout=10_000)
    await page.locator("tbody tr").filter(has_text="Spærret").first.wait_for(timeout=10_000)
    # The list as CSV (the documented export, fetched with the token): the same certificate.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Eksportér CSV").click()
    download = await download_info.value
    seen["export_name"] = download.suggested_filename
    seen["export"] = Path(await download.path()).read_bytes().decode("utf-8-sig")
    seen["revoked"] = await _graphql(b.origin, holder, "{ viewer { user { certificates { id status revocationReason } } } }")

    await b.menu("Brugergrupper")
    await page.get_by_role("status").filter(has_text="grupper").wait_for(timeout=10_000)
    seen["groups"] = await b.main().locator("tbody").inner_text()
    await b.check("groups")
    await page.locator("tbody tr").filter(has_text=org.p_numbers[0]).get_by_role("link").click()
    await page.get_by_role("heading", name=re.compile("^Medlemmer")).wait_for(timeout=10_000)
    seen["members"] = await b.main().inner_text()

    # A custom group: add a member of our own, then a partner's user found by CVR and e-mail.
    await b.menu("Brugergrupper")
    await page.get_by_role("link", name="Løn og personale").click()
    await b.heading("Løn og personale")
    await page.get_by_role("searchbox", name="Find bruger").fill(org.emails[Role.USER])
    await page.get_by_role("button", name="Find", exact=True).click()
    await page.get_by_role("button", name=re.compile("^Tilføj User")).click()
    await page.get_by_role("status").filter(has_text="er tilføjet.").wait_for(timeout=10_000)
    await page.get_by_label("Organisationens CVR-nummer").fill(partner.cvr)
    await page.get_by_label("Brugerens e-mail").fill("ingen.saadan@example.dk")
    await page.get_by_role("button", name="Find ekstern bruger").click()
    await page.get_by_text("Ingen aktiv bruger med det CVR-nummer og den e-mail.").wait_for(timeout=10_000)
    await page.get_by_label("Brugerens e-mail").fill(partner.emails[Role.USER])
    await page.get_by_role("button", name="Find ekstern bruger").click()
    await page.get_by_role("button", name=re.compile("som ekstern bruger$")).click()
    await page.get_by_role("status").filter(has_text="er tilføjet som ekstern bruger").wait_for(timeout=10_000)
    members = page.get_by_role("table").filter(has_text="Organisation")
    await members.get_by_text(f"CVR {partner.cvr}").wait_for(timeout=10_000)
    seen["custom_members"] = await members.inner_text()
    await b.check("group")

    # Import: a file with bad rows (every error listed, nothing saved), then a good one (the
    # progress bar reaches the end), then send the imported users for activation.
    await b.menu("Importér brugere")
    seen["template_href"] = await page.get_by_role("link", name="opret").get_attribute("href")
    bad = csv_file([person(1), person(2, **{"E-mail": "ikke-en-adresse"}), person(3, **{"CPR-nummer": "320190-1234"})])
    await page.get_by_label("CSV-fil", exact=True).set_input_files({"name": "brugere.csv", "mimeType": "text/csv", "buffer": bad})
    await page.get_by_role("button", name="Importér").click()
    await b.heading("Importér brugere")
    await page.get_by_role("heading", name="Importen blev afvist").wait_for(timeout=30_000)
    seen["row_errors"] = await page.get_by_role("table", name="Fejl i filen").inner_text()
    await b.check("import-errors", screenshot=False)
    rows = [person(n, **{"E-mail": f"import{n}.{org.cvr}@example.dk"}) for n in range(10, 40)]
    rows += [dob(n, org.cvr) for n in range(40, 45)]
    await page.get_by_label("CSV-fil", exact=True).set_input_files({"name": "brugere.csv", "mimeType": "text/csv",
                                                        "buffer": csv_file(rows)})
    await page.get_by_role("button", name="Importér").click()
    progress = page.get_by_role("progressbar", name="Fremdrift")
    seen["progress_seen"] = []
    for _ in range(300):
        value = await progress.get_attribute("aria-valuenow") if await progress.count() else None
        seen["progress_seen"].append(value)
        if await page.get_by_role("heading", name="Importen er færdig").count():
            break
        await page.wait_for_timeout(100)
    seen["progress_end"] = (await progress.evaluate("p => [p.value, p.max]"))
    seen["progress_text"] = await page.locator("#job-progress-tekst").inner_text()
    seen["import_result"] = await page.get_by_role("status").filter(has_text="rækker:").inner_text()
    await b.check("import")
    await page.get_by_role("button", name="Send til aktivering").click()
    sent = page.locator(".success").filter(has_text="aktiveringsmail")
    await sent.wait_for(timeout=15_000)
    seen["sent"] = await sent.inner_text()

    # The jobs' notifications arrive live over the subscription (no reload): the header counts them.
    bell = page.get_by_role("link", name=re.compile("^Notifikationer"))
    await bell.filter(has_text="ulæste").wait_for(timeout=20_000)
    seen["bell"] = await bell.inner_text()
    await bell.click()
    await b.heading("Notifikationer")
    items = page.get_by_role("list", name="Notifikationer")
    await items.locator("li.unread").first.wait_for(timeout=10_000)
    seen["notifications"] = await items.inner_text()
    await b.check("notifications")
    await page.get_by_role("button", name="Markér alle som læst").click()
    await bell.filter(has_text="ulæste").wait_for(state="detached", timeout=10_000)
    await items.locator("li.unread").first.wait_for(state="detached", timeout=10_000)
    seen["unread_after"] = await items.locator("li.unread").count()
    seen["read_after"] = await items.locator("li.read").count()

    await b.menu("Fuldmagter")
    await page.get_by_role("status").filter(has_text="fuldmagter").wait_for(timeout=10_000)
    seen["ua_power_controls"] = await b.main().locator("input, textarea, button").count()
    await b.menu("Fakturering")
    await page.get_by_text("Faktureringsmåde").wait_for(timeout=10_000)
    seen["billing_controls"] = await b.main().locator("input, select, textarea, button").count()
    await b.check("billing")
    await b.menu("Indstillinger")
    await page.get_by_text("Anonyme brugere er tilladt").wait_for(timeout=10_000)
    seen["ua_settings_controls"] = await page.evaluate(
        "() => [...document.querySelectorAll('main :is(input, select, textarea, button)')]"
        ".filter(e => !e.closest('form[aria-labelledby=\"mine-notifikationer\"]')).length")
    # Their own notifications' channel is theirs to choose (every role).
    await page.get_by_role("radio", name="Kun på e-mail").check()
    await page.get_by_role("button", name="Gem mit valg").click()
    await page.get_by_text("Dit valg er gemt.").wait_for(timeout=10_000)
    seen["channel"] = await _graphql(b.origin, token, "{ notificationSettings { channel } }")
    await b.check("settings-read-only", screenshot=False)
    seen["storage_signed_in"] = await page.evaluate(STORAGE)

    await page.get_by_role("button", name="Log ud").click()
    await b.heading("Log ind")
    seen["storage_signed_out"] = await page.evaluate(STORAGE)
    return seen


async def _organisation_administrator(b: Browser, partner: OrgFixture, token: str) -> dict[str, Any]:
    page = b.page
    seen: dict[str, Any] = {}
    await b.sign_in(token)
    await b.heading("Overblik")
    await b.menu("Brugere")
    await page.locator("tbody tr").first.wait_for(timeout=10_000)
    seen["create_links"] = await page.get_by_role("link", name="Opret bruger").count()
    await b.menu("Brugergrupper")
    await page.get_by_label("Gruppens navn").fill("Økonomi & regnskab")
    await page.get_by_role("button", name="Opret gruppe").click()
    await b.heading("Økonomi & regnskab")
    seen["new_group"] = await b.main().inner_text()
    # Give a power of attorney to the partner, then revoke it.
    await b.menu("Fuldmagter")
    await page.get_by_label("Modtagerens CVR-nummer").fill(partner.cvr)
    await page.get_by_label("Fuldmagtens navn").fill("Momsrefusion for Ærø")
    await page.get_by_role("checkbox", name=re.compile("^Refusion af afgifter")).check()
    await page.get_by_role("button", name="Giv fuldmagt").click()
    await page.get_by_role("status").filter(has_text="er givet").wait_for(timeout=10_000)
    row = page.locator("tbody tr").filter(has_text="Momsrefusion for Ærø")
    await row.filter(has_text="Aktiv").wait_for(timeout=10_000)
    seen["power"] = await row.inner_text()
    await b.check("powers-of-attorney")
    await row.get_by_role("button", name=re.compile("^Tilbagekald")).click()
    await page.get_by_role("dialog").get_by_role("button", name="Ja, tilbagekald").click()
    await row.filter(has_text="Tilbagekaldt").wait_for(timeout=10_000)

    # Billing: invoices by e-mail — a bad address first (its error next to the field), then a good one.
    await b.menu("Fakturering")
    await page.get_by_role("radio", name="E-mail").check()
    email = page.get_by_label("Faktura-e-mail")
    await email.fill("faktura-ikke-gyldig")
    await page.get_by_role("button", name="Gem fakturering").click()
    await email.and_(page.locator("[aria-invalid='true']")).wait_for(timeout=10_000)
    await email.fill("faktura@eksempel-oeresund.dk")
    await page.get_by_role("button", name="Gem fakturering").click()
    await page.get_by_text("Faktureringen er gemt.").wait_for(timeout=10_000)
    seen["billing"] = await _graphql(b.origin, token, "{ billing { method email } }")
    await b.check("billing-edit", screenshot=False)
    await b.menu("Indstillinger")
    box = page.get_by_role("checkbox", name="Anonyme brugere er tilladt")
    await box.wait_for(timeout=10_000)
    seen["before"] = await box.is_checked()
    await box.uncheck()
    await page.get_by_role("button", name="Gem indstillinger").click()
    await page.get_by_text("Indstillingerne er gemt.").wait_for(timeout=10_000)
    await b.check("settings")
    # A deep link, opened fresh in the same tab: the same screen, still signed in.
    await page.goto(f"{b.origin}/console/settings")
    await b.heading("Indstillinger")
    seen["after_reload"] = await page.get_by_role("checkbox", name="Anonyme brugere er tilladt").is_checked()
    return seen


async def _other_roles(b: Browser, rights_admin: str, plain: str) -> dict[str, Any]:
    """A rights administrator's and a plain user's console: the menu their roles allow, no more."""
    page = b.page
    seen: dict[str, Any] = {}
    await page.get_by_role("button", name="Log ud").click()
    await b.sign_in(rights_admin)
    await b.heading("Overblik")
    seen["ra_menu"] = await page.get_by_role("navigation", name="Menu").inner_text()
    await b.menu("Fakturering")
    await page.get_by_text("Faktureringsmåde").wait_for(timeout=10_000)
    seen["ra_billing_controls"] = await b.main().locator("input, select, textarea, button").count()
    await page.get_by_role("button", name="Log ud").click()
    await b.sign_in(plain)
    await b.heading("Ingen adgang")
    seen["user_menu"] = await page.get_by_role("navigation", name="Menu").inner_text()
    await page.goto(f"{b.origin}/console/users/new")
    await b.heading("Ingen adgang")
    await b.check("no-access", screenshot=False)
    return seen


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_console_main_tasks_as_user_and_organisation_administrator(backend: str, tmp_path: Path) -> None:
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    from playwright.async_api import Route, async_playwright

    shots = Path(SCREENSHOTS) if SCREENSHOTS and backend == "sqlite" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    async with _database(backend, tmp_path) as url:
        settings = Settings.from_env({}, database_url=url, background_tasks=False)
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services, name="Eksempel ApS")
        partner = await make_org(services, name="Partner Revision A/S")
        await services.engine.dispose()
        ua = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
        holder = sign_token(settings, org.people[Role.USER], org.cvr, [Role.USER])
        ra = sign_token(settings, org.people[Role.RIGHTS_ADMINISTRATOR], org.cvr, [Role.RIGHTS_ADMINISTRATOR])
        oa = sign_token(settings, org.people[Role.ORGANISATION_ADMINISTRATOR], org.cvr,
                        [Role.ORGANISATION_ADMINISTRATOR])

        async with _server(url, tmp_path) as origin:
            made = await _graphql(origin, oa, CREATE_GROUP, {"input": {"name": "Løn og personale"}})
            assert made["createUserGroup"]["userErrors"] == [], made
            elsewhere: list[str] = []
            local: list[str] = []

            async def network_off(route: Route) -> None:
                parts = urlsplit(route.request.url)
                if parts.scheme in ("http", "https") and parts.netloc == urlsplit(origin).netloc:
                    if parts.path == AXE_URL_PATH:
                        await route.fulfill(path=str(AXE), content_type="text/javascript; charset=utf-8")
                        return
                    local.append(route.request.url)
                    await route.continue_()
                elif parts.scheme == "data":
                    await route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    await route.abort("internetdisconnected")

            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                context = await browser.new_context(service_workers="block", locale="da-DK",
                                                    viewport={"width": 1280, "height": 860})
                await context.route("**/*", network_off)
                await context.add_init_script(RECORD_VIOLATIONS)
                b = Browser(await context.new_page(), origin, shots)
                try:
                    as_ua = await _user_administrator(b, org, partner, ua, holder)
                    as_oa = await _organisation_administrator(b, partner, oa)
                    others = await _other_roles(b, ra, holder)
                    violations = await b.page.evaluate("() => window.__cspViolations")
                except Exception:
                    failure = tmp_path / "failure.png"
                    await b.page.screenshot(path=str(failure), full_page=True)
                    print(f"the page when the test failed: {failure}\n{await b.main().inner_text()}")
                    raise
                finally:
                    await browser.close()
            saved = await _graphql(origin, oa, SETTINGS_QUERY)

    assert elsewhere == [], f"the page tried to reach other hosts: {elsewhere}"
    assert any("/console/assets/" in u for u in local) and any(u.endswith("/graphql") for u in local)
    assert violations == [], f"Content-Security-Policy violations: {violations}"
    assert b.page_errors == [], b.page_errors
    failed_requests = [e for e in b.console_errors if "Failed to load resource" not in e]
    assert failed_requests == [], b.console_errors
    for name, found in b.axe.items():
        assert found == [], f"axe-core: serious or critical violations on {name}: {found}"
    assert {"sign-in", "dashboard", "users", "create-user", "user", "import", "import-errors", "notifications",
            "certificates",
            "groups", "group", "powers-of-attorney", "billing", "settings"} <= set(b.axe)

    # User administrator.
    assert "I alt" in as_ua["dashboard"] and str(len(Role)) in as_ua["dashboard"]
    assert "Aktiv" in as_ua["dashboard"]
    assert as_ua["dashboard_groups"].split() == ["2", "Systemgrupper", "1", "Egne", "grupper"]
    assert "Udstedt" in as_ua["dashboard_certificates"] and "Udløber inden for 30 dage" in as_ua["dashboard_certificates"]
    assert all(label in as_ua["ua_menu"] for label in ("Overblik", "Brugere", "Fakturering", "Indstillinger"))
    assert "CPR-nummeret" in as_ua["cpr_error"]
    assert as_ua["cpr_error_focused"] == "cpr"
    assert "Søren Ærø-Åberg er oprettet" in as_ua["cpr_created"] and "aktiveringsmail" in as_ua["cpr_created"]
    assert "Midlertidig aktiveringskode" not in as_ua["cpr_created"]
    assert re.fullmatch(r"\S{6,}", as_ua["code"]), as_ua["code"]
    assert "Åse Møller er oprettet" in as_ua["dob_created"] and "kun denne ene gang" in as_ua["dob_created"]
    assert as_ua["code_on_user_page"] is False
    assert re.fullmatch(r"\S{6,}", as_ua["new_code"]) and as_ua["new_code"] != as_ua["code"]
    assert as_ua["search_rows"] == 1
    assert "Søren Ærø-Åberg" in as_ua["cpr_rows"]
    assert "Bruger oprettet" in as_ua["history"] and "Autentifikatorer ændret" in as_ua["history"]
    assert "Autentifikatorer ændret" in as_ua["history_by_type"] and "P-enhed ændret" not in as_ua["history_by_type"]
    assert as_ua["focus_after_escape"] == "Slet…"
    assert "Deaktiveret" in as_ua["after_deactivate"]
    assert "Medarbejder" in as_ua["certificate_row"] and "User Person" in as_ua["certificate_row"]
    assert [(c["status"], c["revocationReason"]) for c in as_ua["revoked"]["viewer"]["user"]["certificates"]] == [
        ("REVOKED", "KEY_LOST")]
    assert as_ua["export_name"] == "certifikater.csv"
    assert len(as_ua["export"].strip().splitlines()) == 2 and org.emails[Role.USER] in as_ua["export"]
    assert "Systemgruppe" in as_ua["groups"] and org.p_numbers[0] in as_ua["groups"]
    assert "Medlemmer (" in as_ua["members"] and "Egen organisation" in as_ua["members"]
    assert "User Person" in as_ua["custom_members"] and "Egen organisation" in as_ua["custom_members"]
    assert f"{partner.name} (CVR {partner.cvr}), ekstern" in as_ua["custom_members"]
    assert as_ua["template_href"] == "/templates/users-create.csv"
    assert "ikke en gyldig e-mailadresse" in as_ua["row_errors"].lower() and "INVALID_EMAIL" in as_ua["row_errors"]
    assert "INVALID_CPR" in as_ua["row_errors"] and "CPR-nummer" in as_ua["row_errors"]
    assert as_ua["progress_end"] == [35, 35] and as_ua["progress_text"] == "35 af 35 rækker"
    assert "35 rækker: 35 oprettet" in as_ua["import_result"]
    assert "30 brugere med CPR-nummer har fået en aktiveringsmail" in as_ua["sent"]
    assert "5 brugere med fødselsdato" in as_ua["sent"]
    assert "ulæste" in as_ua["bell"] and as_ua["unread_after"] == 0 and as_ua["read_after"] >= 1
    assert as_ua["notifications"].strip()
    assert b.sockets and all(urlsplit(u).netloc == urlsplit(origin).netloc for u in b.sockets), b.sockets
    assert as_ua["ua_power_controls"] == 0  # the direction select only: giving and revoking are the OA's
    assert as_ua["billing_controls"] == 0
    assert as_ua["ua_settings_controls"] == 0
    assert as_ua["channel"] == {"notificationSettings": {"channel": "EMAIL"}}
    assert ua in as_ua["storage_signed_in"]
    assert ua not in as_ua["storage_signed_in"].split('"session"')[0], "the token went into localStorage"
    assert ua not in as_ua["storage_signed_out"]

    # Organisation administrator.
    assert as_oa["create_links"] == 0
    assert f"{partner.name} (CVR {partner.cvr})" in as_oa["power"] and "Refusion af afgifter" in as_oa["power"]
    assert "Egen gruppe" in as_oa["new_group"] and "Tilføj medlem" not in as_oa["new_group"]  # members: UA, RA
    assert as_oa["billing"] == {"billing": {"method": "EMAIL", "email": "faktura@eksempel-oeresund.dk"}}
    assert as_oa["before"] is True and as_oa["after_reload"] is False
    assert saved["settings"]["userCreation"]["anonymityAllowed"] is False

    # Rights administrator and plain user: the menu follows the policy.
    ra_menu = others["ra_menu"].split("\n")
    assert {"Overblik", "Brugere", "Brugergrupper", "Fuldmagter", "Fakturering", "Indstillinger"} <= set(ra_menu)
    assert "Certifikater" not in ra_menu and "Importér brugere" not in ra_menu
    assert others["ra_billing_controls"] == 0
    assert others["user_menu"].split("\n") == ["Indstillinger"]


# --- the serving alone (no browser, no build needed) -------------------------------------------------

def _console_client(build: Path) -> httpx.AsyncClient:
    from starlette.applications import Starlette

    from app.entrypoints.http.console import console_routes

    app = Starlette(routes=console_routes(build))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_console_without_a_build_says_how_to_build_it(tmp_path: Path) -> None:
    async with _console_client(tmp_path / "absent") as client:
        for path in ("/console", "/console/users/abc"):
            response = await client.get(path)
            assert response.status_code == 503
            assert "make console-assets" in response.text
            assert response.headers["content-security-policy"] == CSP
        assert (await client.get("/console/assets/index-abc.js")).status_code == 404


async def test_console_serves_its_page_for_every_client_route_and_only_its_hashed_files(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><script type="module" src="/console/assets/i-1.js"></script>')
    (tmp_path / "assets" / "i-1.js").write_text("console.log('æøå');\n" * 50, encoding="utf-8")
    (tmp_path / "assets" / ".hidden.js").write_text("hidden")
    (tmp_path / "secret.js").write_text("outside assets/")
    async with _console_client(tmp_path) as client:
        for path in ("/console", "/console/", "/console/users", "/console/users/VXNlcjox", "/console/settings"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-store"
            assert page.headers["content-security-policy"] == CSP
            assert "/console/assets/i-1.js" in page.text
        assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
        assert "connect-src 'self'" in CSP and "frame-ancestors 'none'" in CSP

        asset = await client.get("/console/assets/i-1.js", headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["content-type"] == "text/javascript; charset=utf-8"
        assert asset.headers["content-encoding"] == "gzip" and "æøå" in asset.text
        head = await client.head("/console/assets/i-1.js")
        assert head.status_code == 200
        for path in ("/console/assets/.hidden.js", "/console/assets/%2e%2e%2fsecret.js", "/console/assets/nope.js",
                     "/console/assets/index.html", "/console/assets/sub%2fi-1.js"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert "outside assets/" not in response.text and "hidden" not in response.text


# --- the README's figures (opt-in: needs bench/'s data set) ------------------------------------------

FIGURES_RUNS = 6
FIRST_LOAD = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const files = performance.getEntriesByType('resource').filter(e => !e.name.endsWith('/graphql'));
    return {transferred: nav.transferSize + files.reduce((a, e) => a + e.transferSize, 0),
            decoded: nav.decodedBodySize + files.reduce((a, e) => a + e.decodedBodySize, 0),
            requests: performance.getEntriesByType('resource').filter(e => e.name.endsWith('/graphql')).length};
}"""


async def _console_figures_on_the_benchmark_data() -> None:
    """`CONSOLE_FIGURES=1` (after `.venv/bin/python -m bench.data --db sqlite`, or CONSOLE_FIGURES_DB=<url>):
    the first load's size and the time from navigation to the users list, cold cache, as a user
    administrator of bench/'s organisation. Prints them; asserts only that the list arrived."""
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    import statistics
    import time

    from playwright.async_api import async_playwright

    from bench.data import default_url, find_dataset

    url = os.environ.get("CONSOLE_FIGURES_DB") or default_url("sqlite", 1.0)
    dataset = await find_dataset(url)
    if dataset is None:
        pytest.skip(f"no benchmark data set at {url}: .venv/bin/python -m bench.data --db sqlite")
    settings = Settings.from_env({}, database_url=url, background_tasks=False)
    token = sign_token(settings, dataset.admin_id, dataset.cvr, [Role.USER_ADMINISTRATOR])
    runs: list[tuple[float, dict[str, int], str]] = []
    async with _server(url) as origin, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(FIGURES_RUNS):
                context = await browser.new_context()  # a cold cache each time
                await context.add_init_script(f"sessionStorage.setItem('console:token', {token!r})")
                page = await context.new_page()
                start = time.perf_counter()
                await page.goto(f"{origin}/console/users")
                status = page.get_by_role("status").filter(has_text="Viser 1–20 af")
                await status.wait_for(timeout=60_000)
                runs.append(((time.perf_counter() - start) * 1000, await page.evaluate(FIRST_LOAD),
                             await status.inner_text()))
                await context.close()
        finally:
            await browser.close()
    load = runs[-1][1]
    times = [ms for ms, _, _ in runs[1:]]  # the first run also warms the server
    print(f"\nconsole on {dataset.db}, scale {dataset.scale:g} ({runs[-1][2]}):"
          f"\n  first load: {load['transferred'] / 1000:.1f} kB transferred ({load['decoded'] / 1000:.1f} kB"
          f" decoded), then {load['requests']} GraphQL requests"
          f"\n  navigation to the users list: median {statistics.median(times):.0f} ms,"
          f" min {min(times):.0f}, max {max(times):.0f} (runs 2-{FIGURES_RUNS}, cold browser cache)")
    assert all("Viser 1–20 af" in text for _, _, text in runs)



# A measurement, not a check (speed belongs to bench/): collected only when asked for, so the normal
# run neither runs nor skips it.
if os.environ.get("CONSOLE_FIGURES"):
    test_console_figures_on_the_benchmark_data = _console_figures_on_the_benchmark_data
