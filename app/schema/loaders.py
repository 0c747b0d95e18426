"""One loader per relationship, built fresh for every request (and after every mutation)."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiodataloader import DataLoader

from app.domain.certificates.model import Certificate
from app.domain.model import Activity, ActivityFilter, GroupMember, Right, User
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


def _history_loader(reader: Reader) -> DataLoader:
    """Key (user id, HistoryArgs): one windowed statement per distinct argument set."""

    async def batch(keys: list[tuple[uuid.UUID, HistoryArgs]]) -> list[list[Activity]]:
        groups: dict[HistoryArgs, list[uuid.UUID]] = defaultdict(list)
        for user_id, args in keys:
            groups[args].append(user_id)
        results: dict[tuple[uuid.UUID, HistoryArgs], list[Activity]] = {}
        for args, ids in groups.items():
            found = await reader.latest_activities_by_user(list(dict.fromkeys(ids)), args.filter, args.before_id, args.limit)
            for user_id in ids:
                results[(user_id, args)] = found.get(user_id, [])
        return [results[k] for k in keys]

    return DataLoader(batch)


def _history_count_loader(reader: Reader) -> DataLoader:
    async def batch(keys: list[tuple[uuid.UUID, ActivityFilter]]) -> list[int]:
        groups: dict[ActivityFilter, list[uuid.UUID]] = defaultdict(list)
        for user_id, f in keys:
            groups[f].append(user_id)
        results: dict[tuple[uuid.UUID, ActivityFilter], int] = {}
        for f, ids in groups.items():
            found = await reader.count_activities_by_user(list(dict.fromkeys(ids)), f)
            for user_id in ids:
                results[(user_id, f)] = found.get(user_id, 0)
        return [results[k] for k in keys]

    return DataLoader(batch)


def _certificates_by_user_loader(reader: Reader) -> DataLoader:
    """Key (user id, attributes read or None for all): one statement per distinct column set."""

    async def batch(keys: list[tuple[uuid.UUID, frozenset[str] | None]]) -> list[list[Certificate]]:
        groups: dict[frozenset[str] | None, list[uuid.UUID]] = defaultdict(list)
        for user_id, reading in keys:
            groups[reading].append(user_id)
        results: dict[tuple[uuid.UUID, frozenset[str] | None], list[Certificate]] = {}
        for reading, ids in groups.items():
            found = await reader.certificates_by_user(list(dict.fromkeys(ids)), reading)
            for user_id in ids:
                results[(user_id, reading)] = found.get(user_id, [])
        return [results[k] for k in keys]

    return DataLoader(batch)


def _members_loader(reader: Reader) -> DataLoader:
    """Key (group id, offset, limit): one windowed statement per distinct page shape."""

    async def batch(keys: list[tuple[uuid.UUID, int, int]]) -> list[list[GroupMember]]:
        shapes: dict[tuple[int, int], list[uuid.UUID]] = defaultdict(list)
        for group_id, offset, limit in keys:
            shapes[(offset, limit)].append(group_id)
        found: dict[tuple[uuid.UUID, int, int], list[GroupMember]] = {}
        for (offset, limit), ids in shapes.items():
            pages = await reader.members_by_group(list(dict.fromkeys(ids)), offset, limit)
            for group_id in ids:
                found[(group_id, offset, limit)] = pages.get(group_id, [])
        return [found[k] for k in keys]

    return DataLoader(batch)


async def _catalogue(reader: Reader, keys: list[str]) -> list[dict[str, Right]]:
    by_code = {r.code: r for r in await reader.rights_catalogue()}
    return [by_code for _ in keys]


_FACTORIES: dict[str, Callable[[Reader], DataLoader]] = {
    "user_by_id": lambda r: _by_key(r.users_by_ids),
    "authenticators_by_user": lambda r: _by_key(r.authenticators_by_user, []),
    "rights_by_user": lambda r: _by_key(r.rights_by_user, []),
    "roles_by_user": lambda r: _by_key(r.roles_by_user, []),
    "history_by_user": _history_loader,
    "history_count_by_user": _history_count_loader,
    "activity_details_by_id": lambda r: _by_key(r.activity_details, {}),
    "group_by_id": lambda r: _by_key(r.groups_by_ids),
    "rights_by_group": lambda r: _by_key(r.rights_by_group, []),
    "members_by_group": _members_loader,
    "member_count_by_group": lambda r: _by_key(r.member_counts, 0),
    "groups_by_user": lambda r: _by_key(r.groups_by_user, []),
    "group_rights_by_user": lambda r: _by_key(r.group_rights_by_user, []),
    "catalogue": lambda r: DataLoader(functools.partial(_catalogue, r)),
    "certificate_by_id": lambda r: _by_key(r.certificates_by_ids),
    "certificates_by_user": _certificates_by_user_loader,
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
