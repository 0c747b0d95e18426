"""Caps on free-text arguments. A search term is matched with LIKE: SQLite refuses a pattern over
50,000 bytes (a 1 MB `search` was reported as SERVICE_UNAVAILABLE) and PostgreSQL scans with it
row by row. No name, email or UUID searched for is longer than MAX_SEARCH characters."""

from __future__ import annotations

from graphql import GraphQLError

MAX_SEARCH = 200


def search_text(value: str | None, field: str = "search") -> str | None:
    """`value`, or a BAD_USER_INPUT error naming the field and the limit when it is too long."""
    if value is not None and len(value) > MAX_SEARCH:
        raise GraphQLError(
            f"`{field}` is at most {MAX_SEARCH} characters (got {len(value)})",
            extensions={"code": "BAD_USER_INPUT", "field": field, "maxLength": MAX_SEARCH},
        )
    return value
