"""Go's crypto/x509 as a relying party (issue 15): tests/x509check/main.go parses the root and the
issuing CA certificates, the OCSP responder's, user and organisation certificates (generated key,
RSA and EC CSRs) and both CRLs, verifies each certificate up to the root through the issuing CA and
each CRL's signature (the issuing CA's, the root's). Go is strict where OpenSSL and
`cryptography` are lenient (policy OIDs, name encodings, extension shapes), so this is the check
that a Go client would accept what we issue. Needs Debian's `golang-go` (.ci/run installs it);
without `go` the test skips, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pki_samples import Samples, samples  # noqa: F401  (the fixture)

GO = shutil.which("go")
PROGRAM = Path(__file__).parent / "x509check" / "main.go"
# Go's build cache and module path inside the project's var/ (works as root in CI, keeps $HOME clean);
# standard library only, so no module is fetched: GOPROXY=off makes sure of it.
GO_HOME = Path(__file__).parent.parent / "var" / "go"


def go_env() -> dict[str, str]:
    return {**os.environ, "GOCACHE": str(GO_HOME / "cache"), "GOPATH": str(GO_HOME / "path"),
            "GOPROXY": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}


@pytest.fixture(scope="module")
def x509check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if GO is None:
        pytest.skip("`go` not found (Debian: apt-get install golang-go; .ci/run installs it): "
                    "Go's crypto/x509 check of our certificates and CRL is skipped")
    binary = tmp_path_factory.mktemp("go") / "x509check"
    built = subprocess.run([GO, "build", "-o", str(binary), str(PROGRAM)], capture_output=True, text=True,
                           env=go_env(), timeout=300)
    assert built.returncode == 0, built.stderr
    return binary


def test_go_parses_every_certificate_and_both_crls_and_verifies_the_chains_to_the_root(
    x509check: Path, samples: Samples, tmp_path: Path  # noqa: F811
) -> None:
    documents = {**samples.certificates(), "crl": samples.crl, "root-crl": samples.root_crl}
    files = {name: tmp_path / f"{name}.der" for name in documents}
    for name, der in documents.items():
        files[name].write_bytes(der)

    run = subprocess.run([str(x509check), "-root", str(files["root"]), "-ca", str(files["ca"]),
                          *map(str, files.values())], capture_output=True, text=True, timeout=60)

    lines = dict(line.split(": ", 1) for line in run.stdout.splitlines())
    assert set(lines) == {str(f) for f in files.values()}, run.stdout + run.stderr
    failures = {Path(f).stem: result for f, result in lines.items() if not result.startswith("ok ")}
    assert failures == {} and run.returncode == 0, (failures, run.stderr)
    assert lines[str(files["root"])] == "ok certificate"
    assert lines[str(files["ca"])] == "ok certificate, verified against the root (chain of 2)"
    for name in ["ocsp-responder", *samples.users, *samples.organisations]:
        assert lines[str(files[name])] == "ok certificate, verified against the root (chain of 3)", name
    entries = int(lines[str(files["crl"])].split()[3])
    assert lines[str(files["crl"])] == f"ok CRL with {entries} entries, signed by the CA" and entries >= 1
    assert lines[str(files["root-crl"])] == "ok CRL with 0 entries, signed by the root"


def test_go_refuses_an_end_entity_certificate_without_its_issuing_ca(
    x509check: Path, samples: Samples, tmp_path: Path  # noqa: F811
) -> None:
    """The chain really runs through the issuing CA: with the root alone nothing verifies."""
    (tmp_path / "root.der").write_bytes(samples.root)
    (tmp_path / "user.der").write_bytes(samples.users["user-generated-rsa"])
    run = subprocess.run([str(x509check), "-root", str(tmp_path / "root.der"), str(tmp_path / "user.der")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "verify: x509: certificate signed by unknown authority" in run.stdout, run.stdout
