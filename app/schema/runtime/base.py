"""Shared GraphQL pieces: Node, global ids, pages, user errors, the policy gate, the unit of work."""

from __future__ import annotations

import base64
import binascii
import operator
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from graphql import FieldNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode, OperationType
from strawberry.permission import BasePermission
from strawberry.types import Info

from app.domain.common.errors import DomainError, errors_of
from app.domain.common.policy import Action, is_allowed

if TYPE_CHECKING:
    from app.domain.common.ports import UnitOfWork
    from app.schema.runtime.context import Context

T = TypeVar("T")
DEFAULT_PAGE = 50
MAX_PAGE = 500


def unauthenticated(message: str = "Authentication required") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


def forbidden(message: str = "You are not allowed to do this") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def bad_input(message: str, field: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT", "field": field})


# --- global ids -----------------------------------------------------------------------------------


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def to_global_id(type_name: str, raw: Any) -> strawberry.ID:
    """base64url("Type:raw") without padding (binascii directly: one per node of every page)."""
    encoded = binascii.b2a_base64(f"{type_name}:{raw}".encode(), newline=False).translate(_URLSAFE)
    return strawberry.ID(encoded.rstrip(b"=").decode())


def from_global_id(value: str) -> tuple[str, str] | None:
    try:
        padded = value + "=" * (-len(value) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, raw = decoded.partition(":")
    return (type_name, raw) if sep and type_name and raw else None


def uuid_of(value: str, type_name: str) -> uuid.UUID | None:
    """The UUID inside a global id of the given type; None for anything else (treated as missing)."""
    parsed = from_global_id(value)
    if parsed is None or parsed[0] != type_name:
        return None
    try:
        return uuid.UUID(parsed[1])
    except ValueError:
        return None


MAX_ID = 2**63 - 1  # a BIGINT: anything larger cannot name a row and fails in the database


def _row_number(raw: str) -> int | None:
    # isdigit() alone accepts "²" and other non-ASCII digits that int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_ID:
        return None
    return int(raw)


def int_of(value: str, type_name: str) -> int | None:
    parsed = from_global_id(value)
    if parsed is None or parsed[0] != type_name:
        return None
    return _row_number(parsed[1])


def field_nodes(selection_set: Any, fragments: dict[str, Any], seen: set[str] | None = None) -> Iterator[FieldNode]:
    """The fields of a selection set in the query's syntax tree, through inline fragments and
    fragment spreads (each fragment once per selection set, as graphql-core collects fields: a
    fragment spread three times by each of 14 nested fragments was 3^14 walks; type conditions and
    directives not applied)."""
    if selection_set is None:
        return
    seen = set() if seen is None else seen
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            yield sel
        elif isinstance(sel, InlineFragmentNode):
            yield from field_nodes(sel.selection_set, fragments, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            seen.add(sel.name.value)
            fragment = fragments.get(sel.name.value)
            if fragment is not None:
                yield from field_nodes(fragment.selection_set, fragments, seen)


class DomainView:
    """A node that reads its fields from the domain object it shows, when a field is asked.

    Lists of nodes (a page's certificates, history entries, groups) select a few of a node's
    fields; copying every field into a node per row cost more than the rest of such a list. The
    Strawberry declarations stay the schema; `domain_view` turns the declared fields into read-only
    properties over `_domain`, and `view` makes a node (the dataclass `__init__` is not used).
    tests/test_domain_views.py reads every declared field of each view."""

    @classmethod
    def view(cls: type[T], domain: Any, **extra: Any) -> T:
        node = object.__new__(cls)
        state = node.__dict__
        state.update(extra)
        state["_domain"] = domain
        return node

    def __repr__(self) -> str:
        """Names the domain object without reading its fields (a partial one may lack some)."""
        domain = self.__dict__.get("_domain")
        return f"<{type(self).__name__} of {type(domain).__name__} {getattr(domain, 'id', '?')}>"


def domain_view(cls: type[T], *, same: Iterable[str], derived: dict[str, Callable[[Any], Any]]) -> type[T]:
    """Make the fields `same` read the domain object's attribute of the same name, and each of
    `derived` a function of the node; every other field must be given to `view`."""
    same = tuple(same)
    for name in same:
        setattr(cls, name, property(operator.attrgetter(f"_domain.{name}")))
    for name, read in derived.items():
        setattr(cls, name, property(read))
    cls._view_fields = (frozenset(same), frozenset(derived))  # type: ignore[attr-defined]
    cls.__repr__ = DomainView.__repr__  # type: ignore[method-assign]  # not the dataclass's, which reads every field
    return cls


@strawberry.interface(description="An object with a global id.")
class Node:
    id: strawberry.ID


# --- pages ----------------------------------------------------------------------------------------


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info_of(edges: list[Any], *, has_next: bool, has_previous: bool) -> PageInfo:
    """PageInfo of a page of edges (each with a `cursor`)."""
    return PageInfo(
        has_next_page=has_next, has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None,
    )


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > MAX_PAGE:
        raise bad_input(f"`first` must be between 0 and {MAX_PAGE}", "first")
    return first


def encode_cursor(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> int | None:
    if cursor is None:
        return None
    parsed = from_global_id(cursor)
    number = _row_number(parsed[1]) if parsed is not None and parsed[0] == kind else None
    if number is None:
        raise bad_input("Invalid cursor", "after")
    return number


# --- errors ---------------------------------------------------------------------------------------


@strawberry.type(description="A validation or domain-rule failure; nothing was written.")
class UserError:
    field: list[str] | None
    code: str
    message: str


def user_errors(exc: DomainError) -> list[UserError]:
    return [UserError(field=e.field, code=e.code, message=e.message) for e in errors_of(exc)]


def not_found(field: str, what: str = "Object") -> list[UserError]:
    return [UserError(field=[field], code="NOT_FOUND", message=f"{what} not found")]


# --- the policy gate ------------------------------------------------------------------------------


class PolicyPermission(BasePermission):
    action: Action | None = None
    message = "You are not allowed to do this"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        ctx: Context = info.context
        principal = ctx.principal
        if principal is None:
            raise unauthenticated(ctx.auth_error or "Authentication required")
        actor = await ctx.resolve_actor(read_only=info.operation.operation is OperationType.QUERY)
        if self.action is not None and not is_allowed(actor.roles, self.action):
            raise forbidden(f"Your roles do not allow {self.action.value}")
        return True


_PERMISSIONS: dict[Action | None, type[PolicyPermission]] = {}


def requires(action: Action | None) -> list[type[BasePermission]]:
    """The permission classes for a field: authenticated, and allowed `action` by the policy."""
    if action not in _PERMISSIONS:
        name = "Authenticated" if action is None else f"Requires{action.value.title().replace('_', '')}"
        _PERMISSIONS[action] = type(name, (PolicyPermission,), {"action": action})
    return [_PERMISSIONS[action]]


def required_action(field: Any) -> Action | None | str:
    """For the role-matrix test: the policy action a schema field is gated by ("none" if ungated)."""
    for cls in getattr(field, "permission_classes", []) or []:
        if issubclass(cls, PolicyPermission):
            return cls.action
    return "none"


# --- running a use case ---------------------------------------------------------------------------


async def in_unit_of_work(
    info: Info, use_case: Callable[[UnitOfWork], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """One transaction: commit on success; on a domain error nothing is written and the error
    becomes userErrors. Loaders are reset so the payload shows what was committed."""
    ctx: Context = info.context
    try:
        async with ctx.unit_of_work() as uow:
            result = await use_case(uow)
            await uow.commit()
    except DomainError as exc:
        return None, user_errors(exc)
    ctx.reset_loaders()
    return result, []
