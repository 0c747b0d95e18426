"""The rights catalogue: rights given to users, groups, certificates and powers of attorney."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RightKind(enum.StrEnum):
    INTERNAL = "INTERNAL"
    EXTERNAL = "EXTERNAL"


@dataclass(slots=True, frozen=True)
class Right:
    """An entry of the rights catalogue."""

    code: str
    name: str
    description: str
    kind: RightKind
    service: str
