"""The request's loaders (app/schema/runtime/loaders.py): each declared one is made on first use, once."""

from __future__ import annotations

from typing import Any

import pytest

from app.schema.runtime.loaders import Loaders


class NoReads:
    """A reader that must not be asked anything: making a loader reads nothing."""

    def __getattr__(self, name: str) -> Any:
        async def refuse(*_args: Any) -> Any:
            raise AssertionError(f"{name} read while only making loaders")

        return refuse


async def test_every_declared_loader_is_made_once_on_first_use_and_cleared_when_made() -> None:
    loaders = Loaders.create(NoReads())  # type: ignore[arg-type]
    names = list(Loaders.__annotations__)
    assert len(names) == 19 and not any(n in vars(loaders) for n in names)
    made = {n: getattr(loaders, n) for n in names}
    assert all(getattr(loaders, n) is made[n] for n in names)  # the same loader for the whole request
    made["user_by_id"].prime("k", "v")
    loaders.clear()
    assert "k" not in made["user_by_id"]._cache


async def test_a_name_that_is_no_loader_is_an_attribute_error() -> None:
    loaders = Loaders.create(NoReads())  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        loaders.users_by_magic  # noqa: B018
    loaders.clear()  # nothing made: nothing to clear
