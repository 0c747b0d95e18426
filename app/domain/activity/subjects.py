"""What a history entry is about, besides the person or group `record` names: a certificate or a
power of attorney. The use cases already put it in the details (`details_of(cert)` writes
`certificateId`; the power-of-attorney entries write the power's `id`), so the entry's columns are
derived from there when it is written, and every entry of those kinds can be found by its subject."""

from __future__ import annotations

import uuid
from typing import Any

POWER_OF_ATTORNEY_PREFIX = "POWER_OF_ATTORNEY_"


def _uuid(raw: Any) -> uuid.UUID | None:
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def subjects_of(type_: str, details: dict[str, Any]) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(certificate id, power of attorney id) of an entry of type `type_` with `details`."""
    certificate = _uuid(details.get("certificateId"))
    power = _uuid(details.get("id")) if type_.startswith(POWER_OF_ATTORNEY_PREFIX) else None
    return certificate, power
