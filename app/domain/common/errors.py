"""Domain errors. Each carries a stable code that the API passes to clients."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A rule was broken; nothing has been written."""

    def __init__(self, code: str, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field: list[str] | None = list(field) if field else None


class ValidationFailed(DomainError):
    """One or more input fields are invalid; `errors` lists every one of them."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = list(errors)


class NotFound(DomainError):
    def __init__(self, what: str = "Object", field: Sequence[str] | None = None) -> None:
        super().__init__("NOT_FOUND", f"{what} not found", field)


class Forbidden(Exception):
    """The caller's roles do not allow the action. Never a userError: a top-level error."""

    def __init__(self, message: str = "You are not allowed to do this") -> None:
        super().__init__(message)
        self.message = message


def errors_of(exc: DomainError) -> list[DomainError]:
    return exc.errors if isinstance(exc, ValidationFailed) else [exc]
