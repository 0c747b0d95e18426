"""The request's loaders (app/schema/runtime/loaders.py): each area declares its own next to its
types; a request makes a declared one on first use, once, and clears what it made."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import app.schema
from app.schema.runtime.loaders import Loaders, LoaderSpec
from app.schema.runtime.prefetch import declared


class NoReads:
    """A read session that must not be asked anything: making a loader reads nothing."""

    def __getattr__(self, name: str) -> Any:
        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise AssertionError(f"{name} used while only making loaders")

        return refuse if name != "bind" else (lambda query: refuse)


def declared_specs() -> dict[str, LoaderSpec]:
    """Every loader the areas declare (module constants of app.schema's modules)."""
    found: dict[str, LoaderSpec] = {}
    for info in pkgutil.walk_packages(app.schema.__path__, "app.schema."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, LoaderSpec):
                found[value.name] = value
    return found


async def test_every_declared_loader_is_made_once_on_first_use_and_cleared() -> None:
    specs = declared_specs()
    assert {"user_by_id", "certificates_by_user", "history_by_user", "catalogue"} <= set(specs)
    loaders = Loaders(NoReads())  # type: ignore[arg-type]
    assert loaders.made() == ()
    made = {name: loaders[spec] for name, spec in specs.items()}
    assert all(loaders[spec] is made[name] for name, spec in specs.items())  # one loader for the request
    assert set(loaders.made()) == set(specs.values())
    made["user_by_id"].prime("k", "v")
    loaders.clear()
    assert "k" not in made["user_by_id"]._cache


async def test_two_requests_never_share_a_loader() -> None:
    spec = declared_specs()["user_by_id"]
    assert Loaders(NoReads())[spec] is not Loaders(NoReads())[spec]  # type: ignore[arg-type]


def test_every_prefetched_relation_is_a_field_of_its_type_with_a_declared_loader() -> None:
    from app.schema import schema

    specs = set(declared_specs().values())
    table = declared("User")
    assert set(table) == {"authenticators", "rights", "roles", "groups", "certificates", "history"}
    fields = schema._schema.type_map["User"].fields
    for name, prefetch in table.items():
        assert name in fields and prefetch.loader in specs, name
