"""GATEWAY_ENV=production refuses to start with the development secrets or a loopback address (the
CA key, CPR encryption and token signing would open with values published in this repository, and
every certificate would name 127.0.0.1 for years); development stays zero-configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bootstrap import build_services
from app.config import Settings, UnsafeSettings

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
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
])
def test_each_unsafe_setting_is_named_and_refused(tmp_path: Path, change: dict[str, str], named: str) -> None:
    settings = Settings.from_env({**GOOD, **change, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"})
    problems = settings.production_problems()
    assert len(problems) == 1 and problems[0].startswith(named), problems
    with pytest.raises(UnsafeSettings, match=named):
        build_services(settings)


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
        for name in ("JWT_SECRET", "DATA_KEY", "PKI_KEY", "PUBLIC_BASE_URL"):
            assert name in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "p.db").exists() or (tmp_path / "p.db").stat().st_size == 0  # nothing created


def test_seed_demo_is_refused_in_production_and_a_wrong_environment_name_is_an_error(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    done = _cli("seed-demo", env={**GOOD, "DATABASE_URL": db})
    assert done.returncode == 2 and "development" in done.stderr
    done = _cli("serve", env={"GATEWAY_ENV": "prod", "DATABASE_URL": db})
    assert done.returncode == 2 and "GATEWAY_ENV must be development or production" in done.stderr
