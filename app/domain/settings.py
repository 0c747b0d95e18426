"""Organisation settings: organisation administrators change them, everyone else views them.
User administrators may change one thing: the default P-unit / SE-number for new users and
certificates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.domain.activity.history import ActivityType, record
from app.domain.common.organisation import SEPARATE_AUTHENTICATORS, Authenticator, OrganisationSettings
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, optional, org_context

# What `allowedAuthenticators` may list: the separate MitID authenticators and a shared authenticator
# issued by another organisation (the guide lets an organisation use one); private MitID is its own switch.
ALLOWABLE_AUTHENTICATORS = SEPARATE_AUTHENTICATORS | {Authenticator.SHARED_AUTHENTICATOR}
REQUIRABLE_FIELDS = ("phone", "reference")


@dataclass(slots=True)
class SettingsChanges:
    """Only fields that are not None change. An empty string clears a default P/SE."""

    employees_may_request_user: bool | None = None
    anonymity_allowed: bool | None = None
    required_fields: list[str] | None = None
    private_mitid_allowed: bool | None = None
    allowed_authenticators: list[str] | None = None
    user_certificates_allowed: bool | None = None
    organisation_certificates_allowed: bool | None = None
    qualified_certificates_allowed: bool | None = None
    default_p_number: str | None = None
    default_se_number: str | None = None


def _diff(before: OrganisationSettings, after: OrganisationSettings) -> dict[str, dict[str, object]]:
    a, b = dataclasses.asdict(before), dataclasses.asdict(after)
    return {k: {"from": a[k], "to": b[k]} for k in a if a[k] != b[k]}


async def update_organisation_settings(uow: UnitOfWork, changes: SettingsChanges) -> OrganisationSettings:
    before = await uow.organisations.get_settings()
    after = dataclasses.replace(before, required_fields=list(before.required_fields),
                                allowed_authenticators=list(before.allowed_authenticators))
    errors = Errors()
    for name in ("employees_may_request_user", "anonymity_allowed", "private_mitid_allowed",
                 "user_certificates_allowed", "organisation_certificates_allowed", "qualified_certificates_allowed"):
        value = getattr(changes, name)
        if value is not None:
            setattr(after, name, value)
    if changes.required_fields is not None:
        wanted = []
        for i, f in enumerate(changes.required_fields):
            if f not in REQUIRABLE_FIELDS:
                errors.add("INVALID_FIELD", f"Only {', '.join(REQUIRABLE_FIELDS)} can be required", "requiredFields",
                           str(i))
            elif f not in wanted:
                wanted.append(f)
        after.required_fields = wanted
    if changes.allowed_authenticators is not None:
        allowed = []
        for i, raw in enumerate(changes.allowed_authenticators):
            try:
                kind = Authenticator(raw)
            except ValueError:
                kind = None
            if kind is None or kind not in ALLOWABLE_AUTHENTICATORS:
                errors.add("INVALID_AUTHENTICATOR", f"{raw} is neither a separate MitID authenticator nor the "
                           "shared authenticator (private MitID has its own setting)", "allowedAuthenticators", str(i))
            elif kind.value not in allowed:
                allowed.append(kind.value)
        after.allowed_authenticators = sorted(allowed)
    if after.qualified_certificates_allowed and not (
        after.user_certificates_allowed or after.organisation_certificates_allowed
    ):
        errors.add("INVALID_COMBINATION", "Qualified certificates need user or organisation certificates",
                   "qualifiedCertificatesAllowed")
    await _apply_defaults(uow, errors, after, changes.default_p_number, changes.default_se_number)
    errors.raise_if_any()
    changed = _diff(before, after)
    if changed:
        await uow.organisations.save_settings(after)
        await record(uow, ActivityType.SETTINGS_CHANGED, "Settings changed: " + ", ".join(sorted(changed)),
                     details=changed)
    return after


async def _apply_defaults(
    uow: UnitOfWork, errors: Errors, settings: OrganisationSettings, p_number: str | None, se_number: str | None
) -> None:
    p, se = check_units(errors, await org_context(uow), optional(p_number), optional(se_number))
    if p_number is not None:
        settings.default_p_number = p
    if se_number is not None:
        settings.default_se_number = se


async def set_default_organisation_unit(
    uow: UnitOfWork, p_number: str | None, se_number: str | None
) -> OrganisationSettings:
    before = await uow.organisations.get_settings()
    after = dataclasses.replace(before)
    errors = Errors()
    if p_number is None and se_number is None:
        errors.add("REQUIRED", "Give a P-number, an SE-number or both", "pNumber")
    await _apply_defaults(uow, errors, after, p_number, se_number)
    errors.raise_if_any()
    changed = _diff(before, after)
    if changed:
        await uow.organisations.save_settings(after)
        await record(uow, ActivityType.SETTINGS_CHANGED, "Default P-unit / SE-number changed", details=changed)
    return after
