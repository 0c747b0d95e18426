"""Request loaders: each area declares its loaders next to its types, as module constants
(`AUTHENTICATORS = by_key("authenticators_by_user", users.authenticators_by_user, [])`); a request
makes a declared loader when it first asks for it (`ctx.loaders[AUTHENTICATORS]`) and keeps it until
the operation ends (or a mutation clears it). Nothing here knows the areas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from app.persistence.read_session import ReadSession

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LoaderSpec:
    """A declared loader: its name (for errors and docs) and how a request makes it."""

    __slots__ = ("make", "name")

    def __init__(self, name: str, make: Callable[[ReadSession], DataLoader]) -> None:
        self.name = name
        self.make = make

    def __repr__(self) -> str:
        return f"LoaderSpec({self.name})"


def by_key(name: str, query: Callable[..., Awaitable[dict[Any, Any]]], default: Any = None) -> LoaderSpec:
    """Key: an id; `query(conn, org_id, ids)` returns {id: value} (a missing id gets `default`)."""

    def make(session: ReadSession) -> DataLoader:
        fetch = session.bind(query)

        async def batch(keys: list[Any]) -> list[Any]:
            found = await fetch(list(dict.fromkeys(keys)))
            return [found.get(k, default) for k in keys]

        return DataLoader(batch)

    return LoaderSpec(name, make)


def by_key_and_shape(name: str, query: Callable[..., Awaitable[dict[Any, Any]]], default: Any) -> LoaderSpec:
    """Keys (id, *shape): one `query(conn, org_id, ids, *shape)` per distinct shape (history
    arguments, a filter, a page, a column set)."""

    def make(session: ReadSession) -> DataLoader:
        fetch = session.bind(query)

        async def batch(keys: list[tuple[Any, ...]]) -> list[Any]:
            by_shape: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
            for key in keys:
                by_shape[key[1:]].append(key[0])
            results: dict[tuple[Any, ...], Any] = {}
            for shape, ids in by_shape.items():
                found = await fetch(list(dict.fromkeys(ids)), *shape)
                for key_id in ids:
                    results[(key_id, *shape)] = found.get(key_id, default)
            return [results[k] for k in keys]

        return DataLoader(batch)

    return LoaderSpec(name, make)


def custom(name: str, make: Callable[[ReadSession], DataLoader]) -> LoaderSpec:
    """A loader with its own batch function (made from the request's read session)."""
    return LoaderSpec(name, make)


class Loaders:
    """The request's loaders, each made when first asked for (a request uses a few)."""

    __slots__ = ("_made", "_session")

    def __init__(self, session: ReadSession) -> None:
        self._session = session
        self._made: dict[LoaderSpec, DataLoader] = {}

    def __getitem__(self, spec: LoaderSpec) -> DataLoader:
        loader = self._made.get(spec)
        if loader is None:
            loader = self._made[spec] = spec.make(self._session)
        return loader

    def made(self) -> Sequence[LoaderSpec]:
        return tuple(self._made)

    def clear(self) -> None:
        for loader in self._made.values():
            loader.clear_all()


def now_or_later(loader: DataLoader, key: Any, then: Callable[[Any], Any] | None = None) -> Any:
    """`then(value)` (or the value) at once when the loader already holds the key (a page prefetched
    it), else an awaitable of it. Lets a field resolver stay synchronous on the hot path: no
    coroutine, no task, no gather per row; graphql-core awaits the rare awaitable itself."""
    future = loader.load(key)
    if future.done() and not future.cancelled() and future.exception() is None:
        return future.result() if then is None else then(future.result())
    return _later(future, then)


async def _later(future: Awaitable[Any], then: Callable[[Any], Any] | None) -> Any:
    value = await future
    return value if then is None else then(value)
