"""One loader per relationship, built fresh for every request (and after every mutation)."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiodataloader import DataLoader

from app.domain.activity.model import Activity, ActivityFilter
from app.domain.common.rights import Right
from app.domain.users.model import User
from app.persistence.reader import Reader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


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


def _by_key(fetch: Callable[[Sequence[K]], Awaitable[dict[K, V]]], default: Any = None) -> DataLoader:
    async def batch(keys: list[K]) -> list[V]:
        found = await fetch(list(dict.fromkeys(keys)))
        return [found.get(k, default) for k in keys]

    return DataLoader(batch)


@dataclass(frozen=True, slots=True)
class HistoryArgs:
    filter: ActivityFilter
    before_id: int | None
    limit: int


def _by_key_and_shape(fetch: Callable[..., Awaitable[dict[Any, Any]]], default: Any) -> DataLoader:
    """Keys (id, *shape): one fetch per distinct shape (history arguments, a filter, a page, a column
    set), given that shape's ids and the shape itself."""

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


def _history_loader(reader: Reader) -> DataLoader:
    """Key (user id, HistoryArgs): one windowed statement per distinct argument set."""

    def fetch(ids: list[uuid.UUID], args: HistoryArgs) -> Awaitable[dict[uuid.UUID, list[Activity]]]:
        return reader.latest_activities_by_user(ids, args.filter, args.before_id, args.limit)

    return _by_key_and_shape(fetch, [])


async def _catalogue(reader: Reader, keys: list[str]) -> list[dict[str, Right]]:
    by_code = {r.code: r for r in await reader.rights_catalogue()}
    return [by_code for _ in keys]


_FACTORIES: dict[str, Callable[[Reader], DataLoader]] = {
    "user_by_id": lambda r: _by_key(r.users_by_ids),
    "authenticators_by_user": lambda r: _by_key(r.authenticators_by_user, []),
    "rights_by_user": lambda r: _by_key(r.rights_by_user, []),
    "roles_by_user": lambda r: _by_key(r.roles_by_user, []),
    "history_by_user": _history_loader,
    "history_count_by_user": lambda r: _by_key_and_shape(r.count_activities_by_user, 0),
    "activity_details_by_id": lambda r: _by_key(r.activity_details, {}),
    "group_by_id": lambda r: _by_key(r.groups_by_ids),
    "rights_by_group": lambda r: _by_key(r.rights_by_group, []),
    "members_by_group": lambda r: _by_key_and_shape(r.members_by_group, []),
    "member_count_by_group": lambda r: _by_key(r.member_counts, 0),
    "groups_by_user": lambda r: _by_key(r.groups_by_user, []),
    "group_rights_by_user": lambda r: _by_key(r.group_rights_by_user, []),
    "catalogue": lambda r: DataLoader(functools.partial(_catalogue, r)),
    "certificate_by_id": lambda r: _by_key(r.certificates_by_ids),
    "certificates_by_user": lambda r: _by_key_and_shape(r.certificates_by_user, []),
    "certificate_pem_by_id": lambda r: _by_key(r.certificate_pems),
    "system_rights_by_certificate": lambda r: _by_key(r.system_rights_by_certificate, []),
    "certificate_profile_by_id": lambda r: _by_key(r.certificate_profiles_by_ids),
}


class Loaders:
    """The request's loaders, each made when first used (a request uses a few of the nineteen;
    making them all cost a dashboard request 0.2 ms)."""

    user_by_id: DataLoader  # uuid -> User | None
    authenticators_by_user: DataLoader  # uuid -> list[str]
    rights_by_user: DataLoader  # uuid -> list[str]
    roles_by_user: DataLoader  # uuid -> list[str]
    history_by_user: DataLoader  # (uuid, HistoryArgs) -> list[Activity]
    history_count_by_user: DataLoader  # (uuid, ActivityFilter) -> int
    activity_details_by_id: DataLoader  # int -> dict (history lists omit the details)
    group_by_id: DataLoader  # uuid -> UserGroup | None
    rights_by_group: DataLoader  # uuid -> list[str]
    members_by_group: DataLoader  # (uuid, offset, limit) -> list[GroupMember]
    member_count_by_group: DataLoader  # uuid -> int
    groups_by_user: DataLoader  # uuid -> list[UserGroup]
    group_rights_by_user: DataLoader  # uuid -> list[str]
    catalogue: DataLoader  # "all" -> {code: Right}
    certificate_by_id: DataLoader  # uuid -> Certificate | None
    certificates_by_user: DataLoader  # (uuid, attributes or None) -> list[Certificate] (without PEM)
    certificate_pem_by_id: DataLoader  # uuid -> str | None
    system_rights_by_certificate: DataLoader  # uuid -> list[str]
    certificate_profile_by_id: DataLoader  # uuid -> CertificateProfile | None

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    @classmethod
    def create(cls, reader: Reader) -> Loaders:
        return cls(reader)

    def __getattr__(self, name: str) -> DataLoader:  # a loader not made yet
        factory = _FACTORIES.get(name)
        if factory is None:
            raise AttributeError(f"no loader {name!r}")
        loader = self.__dict__[name] = factory(self._reader)
        return loader

    def clear(self) -> None:
        for name in _FACTORIES:
            loader = self.__dict__.get(name)
            if loader is not None:
                loader.clear_all()

    def prime_users(self, users: Sequence[User]) -> None:
        for u in users:
            self.user_by_id.prime(u.id, u)
