"""The house (README, "How the code is laid out"): every module of app/ is in a layer of the
import contract, and the schema is assembled from areas found, not listed."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import app
from app.schema.runtime.area import Area, find_areas

ROOT = Path(__file__).resolve().parent.parent


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    house = next(c for c in config["contracts"] if c["type"] == "layers" and "containers" not in c)
    return [m.strip() for layer in house["layers"] for m in layer.split("|")]


def test_every_module_of_app_is_in_a_layer_of_the_layers_contract() -> None:
    layers = set(_layers())
    modules = [m.name for m in pkgutil.walk_packages(app.__path__, "app.")]
    assert len(modules) > 100
    outside = [m for m in modules if not any(m == layer or m.startswith(layer + ".") for layer in layers)]
    assert outside == []
    # and the contract names only what exists (a renamed package would silently leave its modules out)
    assert all(any(m == layer or m.startswith(layer + ".") for m in modules) for layer in layers)


def test_an_area_is_found_by_its_folder_or_module_and_one_without_AREA_is_an_error(tmp_path: Path) -> None:
    pkg = tmp_path / "fake_schema"
    (pkg / "runtime").mkdir(parents=True)
    (pkg / "webhooks").mkdir()
    for path in (pkg / "__init__.py", pkg / "runtime" / "__init__.py", pkg / "webhooks" / "__init__.py"):
        path.write_text("")
    area = "from app.schema.runtime.area import Area\n\nclass Q:\n    pass\n\nAREA = Area(queries=(Q,))\n"
    (pkg / "webhooks" / "area.py").write_text(area)
    (pkg / "billing.py").write_text(area)
    sys.path.insert(0, str(tmp_path))
    try:
        found = find_areas(importlib.import_module("fake_schema"))
        assert list(found) == ["billing", "webhooks"] and all(isinstance(a, Area) for a in found.values())
        (pkg / "broken.py").write_text(textwrap.dedent("X = 1\n"))
        with pytest.raises(TypeError, match="declares no AREA"):
            find_areas(importlib.import_module("fake_schema"))
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("fake_schema")]:
            del sys.modules[name]


def test_the_schema_holds_every_areas_root_fields() -> None:
    import app.schema as schema_package
    from app.schema import schema

    areas = find_areas(schema_package)
    assert {"users", "certificates", "user_groups", "notifications", "node"} <= set(areas)
    query = schema._schema.query_type
    for area in areas.values():
        for part in area.queries:
            definition = part.__strawberry_definition__  # type: ignore[attr-defined]
            assert all(f.graphql_name or f.python_name for f in definition.fields)
            for f in definition.fields:
                name = f.graphql_name or schema.config.name_converter.apply_naming_config(f.python_name)
                assert name in query.fields, name


def test_the_background_runs_every_worker_module_found() -> None:
    from app.entrypoints.workers.background import find_workers

    assert [w.name for w in find_workers()] == ["bulk", "deactivation", "outbox", "webhooks"]


async def test_a_periodic_worker_logs_a_failed_round_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    import logging
    from types import SimpleNamespace

    from app.entrypoints.workers.worker import every

    rounds: list[int] = []

    async def job(services: object) -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("first round fails")

    worker = every("probe", lambda s: 0.01, job)
    with caplog.at_level(logging.ERROR, logger="app.background"):
        task = asyncio.create_task(worker.run(SimpleNamespace(settings=None)))  # type: ignore[arg-type]
        while len(rounds) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
    assert "background job probe failed" in caplog.text
