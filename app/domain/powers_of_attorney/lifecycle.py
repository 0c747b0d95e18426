"""Business powers of attorney: the organisation lets another organisation (CVR) act on its
behalf for given rights, optionally limited to a P-unit / SE-number and a period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.domain.activity.history import ActivityType, record
from app.domain.common import identifiers as ids
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.organisation import Organisation
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, one_line, optional, org_context, parse_rights
from app.domain.notifications.delivery import notify_administrators_of
from app.domain.powers_of_attorney.model import PowerOfAttorney

NAME_MAX = 200


@dataclass(slots=True)
class NewPowerOfAttorney:
    receiving_cvr: str
    name: str
    rights: list[str]
    p_number: str | None = None
    se_number: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


async def create_power_of_attorney(uow: UnitOfWork, data: NewPowerOfAttorney) -> PowerOfAttorney:
    ctx = await org_context(uow)
    org = await uow.organisations.get()
    errors = Errors()
    cvr = errors.check("receivingCvr", ids.normalise_cvr, data.receiving_cvr)
    if cvr is not None and cvr == org.cvr:
        errors.add("OWN_ORGANISATION", "A power of attorney is given to another organisation", "receivingCvr")
    name = (data.name or "").strip()
    if not name:
        errors.add("REQUIRED", "Give the power of attorney a name", "name")
    elif len(name) > NAME_MAX:
        errors.add("TOO_LONG", f"At most {NAME_MAX} characters", "name")
    one_line(errors, "name", name)
    rights = parse_rights(errors, data.rights, ctx.right_codes)
    if not rights and not errors.items:
        errors.add("REQUIRED", "Choose at least one right", "rights")
    p, se = check_units(errors, ctx, optional(data.p_number), optional(data.se_number))
    start = errors.check("validFrom", ids.parse_iso_date, data.valid_from) if optional(data.valid_from) else None
    end = errors.check("validUntil", ids.parse_iso_date, data.valid_until) if optional(data.valid_until) else None
    if end is not None and end < ctx.today:
        errors.add("INVALID_PERIOD", "The period must not end in the past", "validUntil")
    elif start is not None and end is not None and end < start:
        errors.add("INVALID_PERIOD", "The period must end after it starts", "validUntil")
    errors.raise_if_any()
    assert cvr is not None
    poa = PowerOfAttorney(
        id=uuid.uuid4(), granting_org_id=org.id, granting_cvr=org.cvr, granting_name=org.name, receiving_cvr=cvr,
        receiving_name=None, name=name, rights=rights, p_number=p, se_number=se, valid_from=start, valid_until=end,
        created_at=uow.platform.now(),
    )
    await uow.powers_of_attorney.add(poa)
    await record(uow, ActivityType.POWER_OF_ATTORNEY_CREATED, f"Power of attorney '{name}' given to CVR {cvr}",
                 details={"id": str(poa.id), "receivingCvr": cvr, "rights": rights,
                          "validFrom": start.isoformat() if start else None,
                          "validUntil": end.isoformat() if end else None})
    await _tell_receiver(uow, poa, org, given=True)
    return poa


async def _tell_receiver(uow: UnitOfWork, poa: PowerOfAttorney, org: Organisation, *, given: bool) -> None:
    """The receiving organisation's administrators hear of a power of attorney given to them or
    revoked, in the same transaction (when that organisation uses this gateway)."""
    receiver = await uow.powers_of_attorney.receiving_organisation_id(poa.receiving_cvr)
    if receiver is None:
        return
    rights = ", ".join(poa.rights)
    if given:
        kind, title = ActivityType.POWER_OF_ATTORNEY_CREATED, f"{org.name} gave your organisation a power of attorney"
        body = f"{org.name} (CVR {org.cvr}) gave you the power of attorney '{poa.name}' for: {rights}."
    else:
        kind, title = ActivityType.POWER_OF_ATTORNEY_REVOKED, f"{org.name} revoked a power of attorney"
        body = f"{org.name} (CVR {org.cvr}) revoked the power of attorney '{poa.name}' ({rights})."
    await notify_administrators_of(uow, receiver, kind.value, title, body)


async def revoke_power_of_attorney(uow: UnitOfWork, poa_id: uuid.UUID) -> PowerOfAttorney:
    """Final: a revoked power of attorney cannot be restored (give a new one)."""
    poa = await uow.powers_of_attorney.get(poa_id)
    if poa is None:
        raise NotFound("Power of attorney", ["powerOfAttorneyId"])
    if poa.revoked_at is not None:
        raise DomainError("ALREADY_REVOKED", "The power of attorney is already revoked", ["powerOfAttorneyId"])
    poa.revoked_at = uow.platform.now()
    await uow.powers_of_attorney.save(poa)
    await record(uow, ActivityType.POWER_OF_ATTORNEY_REVOKED,
                 f"Power of attorney '{poa.name}' to CVR {poa.receiving_cvr} revoked", details={"id": str(poa.id)})
    await _tell_receiver(uow, poa, await uow.organisations.get(), given=False)
    return poa
