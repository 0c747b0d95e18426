"""GATEWAY_ENV=production refuses to start with the development secrets or a loopback address (the
CA key, CPR encryption and token signing would open with values published in this repository, and
every certificate would name 127.0.0.1 for years); development stays zero-configuration."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app.adapters.pki_hierarchy import write_root_file
from app.bootstrap import build_services
from app.config import DEV_PKI_ROOT_PASSPHRASE, Settings, UnsafeSettings

ROOT = Path(__file__).resolve().parent.parent
# The root CA an operator made (outside the database, encrypted): one for the module.
ROOT_CA_FILE = Path(tempfile.mkdtemp(prefix="production-root-")) / "root.pem"
ROOT_CA_PASSPHRASE = "r" * 40
write_root_file(str(ROOT_CA_FILE), ROOT_CA_PASSPHRASE, dt.datetime.now(dt.UTC), "https://erhverv.example.dk")
GOOD = {
    "PKI_ROOT_KEY_FILE": str(ROOT_CA_FILE),
    "PKI_ROOT_KEY_PASSPHRASE": ROOT_CA_PASSPHRASE,
    "GATEWAY_ENV": "production",
    "JWT_SECRET": "j" * 40,
    "DATA_KEY": "d" * 40,
    "PKI_KEY": "p" * 40,
    "PUBLIC_BASE_URL": "https://erhverv.example.dk",
}


def test_development_needs_no_configuration() -> None:
    assert Settings.from_env({}).production_problems() == []


def test_a_complete_production_configuration_starts(tmp_path: Path) -> None:
    settings = Settings.from_env({**GOOD, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"})
    assert settings.production and settings.production_problems() == []
    build_services(settings)  # does not raise


def test_certificates_may_name_a_plain_http_publication_address_in_production(tmp_path: Path) -> None:
    settings = Settings.from_env({**GOOD, "PKI_PUBLICATION_BASE_URL": "http://pki.erhverv.example.dk/",
                                  "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"})
    assert settings.production_problems() == []
    assert settings.pki_base_url == "http://pki.erhverv.example.dk" != settings.public_base_url


@pytest.mark.parametrize("change,named", [
    ({"JWT_SECRET": ""}, "JWT_SECRET"),
    ({"JWT_SECRET": "short"}, "JWT_SECRET"),
    ({"DATA_KEY": ""}, "DATA_KEY"),
    ({"PKI_KEY": ""}, "PKI_KEY"),
    ({"PKI_KEY": "d" * 40}, "PKI_KEY"),  # the same as DATA_KEY
    ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://127.0.0.1"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://localhost:8443"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://10.0.0.5"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "http://erhverv.example.dk"}, "PUBLIC_BASE_URL"),
    ({"PKI_ROOT_KEY_FILE": ""}, "PKI_ROOT_KEY_FILE"),  # no root outside the database
    ({"PKI_ROOT_KEY_FILE": "/nonexistent/root.pem"}, "PKI_ROOT_KEY_FILE"),
    ({"PKI_ROOT_CERT_FILE": "/nonexistent/root.cer"}, "PKI_ROOT_CERT_FILE"),
    ({"PKI_ROOT_KEY_PASSPHRASE": ""}, "PKI_ROOT_KEY_PASSPHRASE"),
    ({"PKI_ROOT_KEY_PASSPHRASE": DEV_PKI_ROOT_PASSPHRASE}, "PKI_ROOT_KEY_PASSPHRASE"),
    ({"PKI_ROOT_KEY_PASSPHRASE": "short"}, "PKI_ROOT_KEY_PASSPHRASE"),
    ({"PKI_PUBLICATION_BASE_URL": "http://127.0.0.1:8080"}, "PKI_PUBLICATION_BASE_URL"),
    ({"PKI_PUBLICATION_BASE_URL": "http://192.168.1.4"}, "PKI_PUBLICATION_BASE_URL"),
    ({"PKI_PUBLICATION_BASE_URL": "ldap://pki.example.dk"}, "PKI_PUBLICATION_BASE_URL"),
    ({"PKI_PUBLICATION_BASE_URL": "http://pki.example.dk/gateway"}, "PKI_PUBLICATION_BASE_URL"),
])
def test_each_unsafe_setting_is_named_and_refused(tmp_path: Path, change: dict[str, str], named: str) -> None:
    settings = Settings.from_env({**GOOD, **change, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"})
    problems = settings.production_problems()
    assert len(problems) == 1 and problems[0].startswith(named), problems
    with pytest.raises(UnsafeSettings, match=named):
        build_services(settings)


def test_a_root_file_the_passphrase_does_not_open_is_refused_at_start_up(tmp_path: Path) -> None:
    settings = Settings.from_env({**GOOD, "PKI_ROOT_KEY_PASSPHRASE": "w" * 40,
                                  "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"})
    assert settings.production_problems() == []  # the file is there: only opening it tells
    with pytest.raises(UnsafeSettings, match="PKI_ROOT_KEY_FILE: the root CA's key .* PKI_ROOT_KEY_PASSPHRASE opens"):
        build_services(settings)
    not_a_root = tmp_path / "not-a-root.pem"
    not_a_root.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(UnsafeSettings, match="PKI_ROOT_KEY_FILE"):
        build_services(Settings.from_env({**GOOD, "PKI_ROOT_KEY_FILE": str(not_a_root)}))


def test_development_makes_its_root_once_per_address_outside_the_database(tmp_path: Path) -> None:
    from app.adapters.pki_hierarchy import RootSource

    source = RootSource.development("http://127.0.0.1:8000")
    assert source.key_file == "var/pki/dev-root-127.0.0.1_8000.pem" and source.passphrase == DEV_PKI_ROOT_PASSPHRASE
    here = RootSource(str(tmp_path / "root.pem"), DEV_PKI_ROOT_PASSPHRASE, generate="http://127.0.0.1:8000")
    first = here.load(dt.datetime.now(dt.UTC))
    assert here.load(dt.datetime.now(dt.UTC)).certificate == first.certificate  # made once, then read
    text = (tmp_path / "root.pem").read_text()
    assert "BEGIN ENCRYPTED PRIVATE KEY" in text and "BEGIN PRIVATE KEY" not in text


def test_an_operator_makes_the_root_with_the_module_and_production_starts_with_it(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in GOOD}
    made = tmp_path / "root.pem"

    def make(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.adapters.pki_hierarchy", str(made)], cwd=ROOT,
                              env={**clean, **env}, capture_output=True, text=True, timeout=120)

    refused = make(PKI_ROOT_KEY_PASSPHRASE=DEV_PKI_ROOT_PASSPHRASE)
    assert refused.returncode == 2 and "PKI_ROOT_KEY_PASSPHRASE" in refused.stderr and not made.exists()
    done = make(PKI_ROOT_KEY_PASSPHRASE="q" * 40, PUBLIC_BASE_URL="https://erhverv.example.dk")
    assert done.returncode == 0 and "SHA-256" in done.stdout, done
    assert "BEGIN ENCRYPTED PRIVATE KEY" in made.read_text() and "q" * 40 not in done.stdout + done.stderr
    assert make(PKI_ROOT_KEY_PASSPHRASE="q" * 40).returncode == 2  # never over an existing root
    settings = Settings.from_env({**GOOD, "PKI_ROOT_KEY_FILE": str(made), "PKI_ROOT_KEY_PASSPHRASE": "q" * 40,
                                  "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"})
    build_services(settings)  # does not raise


def test_jwt_keys_of_an_identity_provider_need_no_jwt_secret(tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text('{"keys": []}')
    settings = Settings.from_env({**GOOD, "JWT_SECRET": "", "JWT_JWKS_FILE": str(keys), "JWT_ALGORITHMS": "RS256"})
    assert settings.production_problems() == []


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in GOOD and k != "JWT_JWKS_FILE"}
    return subprocess.run([sys.executable, "-m", "app.entrypoints.cli.main", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_serve_and_migrate_refuse_with_every_problem_listed_and_no_traceback(tmp_path: Path) -> None:
    env = {"GATEWAY_ENV": "production", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"}
    for command in ("serve", "migrate"):
        done = _cli(command, env=env)
        assert done.returncode == 2, done
        for name in ("JWT_SECRET", "DATA_KEY", "PKI_KEY", "PUBLIC_BASE_URL", "PKI_ROOT_KEY_FILE",
                     "PKI_ROOT_KEY_PASSPHRASE"):
            assert name in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "p.db").exists() or (tmp_path / "p.db").stat().st_size == 0  # nothing created


def test_seed_demo_is_refused_in_production_and_a_wrong_environment_name_is_an_error(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    done = _cli("seed-demo", env={**GOOD, "DATABASE_URL": db})
    assert done.returncode == 2 and "development" in done.stderr
    done = _cli("serve", env={"GATEWAY_ENV": "prod", "DATABASE_URL": db})
    assert done.returncode == 2 and "GATEWAY_ENV must be development or production" in done.stderr
