"""What the history records, as changes of entities and as webhook event types. Every history
entry is one change: the entity it is about (a global id's type and raw id), how it changed, and
the event type endpoints subscribe to (`user.created`). Nothing here carries a name or a CPR."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.domain.activity.history import ActivityType as A
from app.domain.activity.model import Activity


class ChangeKind(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str  # the event type on the wire
    entity: str  # the GraphQL type of the entity
    kind: ChangeKind


C, U, D = ChangeKind.CREATED, ChangeKind.UPDATED, ChangeKind.DELETED

EVENTS: dict[A, EventSpec] = {
    A.USER_CREATED: EventSpec("user.created", "User", C),
    A.USER_UPDATED: EventSpec("user.updated", "User", U),
    A.AUTHENTICATORS_CHANGED: EventSpec("user.authenticators_changed", "User", U),
    A.ORGANISATION_UNIT_CHANGED: EventSpec("user.organisation_unit_changed", "User", U),
    A.ACTIVATION_EMAIL_SENT: EventSpec("user.activation_sent", "User", U),
    A.ACTIVATION_CODE_GENERATED: EventSpec("user.activation_code_generated", "User", U),
    A.USER_ACTIVATED: EventSpec("user.activated", "User", U),
    A.USER_DEACTIVATED: EventSpec("user.deactivated", "User", U),
    A.DEACTIVATION_SCHEDULED: EventSpec("user.deactivation_scheduled", "User", U),
    A.USER_REACTIVATED: EventSpec("user.reactivated", "User", U),
    A.USER_DELETED: EventSpec("user.deleted", "User", D),
    A.ANONYMITY_REQUESTED: EventSpec("user.anonymity_requested", "User", U),
    A.ANONYMITY_APPROVED: EventSpec("user.anonymity_approved", "User", U),
    A.ANONYMITY_REJECTED: EventSpec("user.anonymity_rejected", "User", U),
    A.NOTIFICATION_SETTINGS_CHANGED: EventSpec("user.notification_settings_changed", "User", U),
    A.BULK_IMPORT_COMPLETED: EventSpec("bulk_job.completed", "BulkJob", U),
    A.CERTIFICATE_ORDERED: EventSpec("certificate.ordered", "Certificate", C),
    A.CERTIFICATE_ISSUED: EventSpec("certificate.issued", "Certificate", U),
    A.CERTIFICATE_RENEWED: EventSpec("certificate.renewed", "Certificate", U),
    A.CERTIFICATE_REVOKED: EventSpec("certificate.revoked", "Certificate", U),
    A.CERTIFICATE_RIGHTS_CHANGED: EventSpec("certificate.rights_changed", "Certificate", U),
    A.CERTIFICATE_ORDER_CANCELLED: EventSpec("certificate.order_cancelled", "Certificate", U),
    A.CERTIFICATE_DELETED: EventSpec("certificate.deleted", "Certificate", D),
    A.SETTINGS_CHANGED: EventSpec("organisation.settings_changed", "Organisation", U),
    A.BILLING_CHANGED: EventSpec("organisation.billing_changed", "Organisation", U),
    A.POWER_OF_ATTORNEY_CREATED: EventSpec("power_of_attorney.created", "PowerOfAttorney", C),
    A.POWER_OF_ATTORNEY_REVOKED: EventSpec("power_of_attorney.revoked", "PowerOfAttorney", U),
    A.GROUP_CREATED: EventSpec("user_group.created", "UserGroup", C),
    A.GROUP_UPDATED: EventSpec("user_group.updated", "UserGroup", U),
    A.GROUP_DELETED: EventSpec("user_group.deleted", "UserGroup", D),
    A.GROUP_MEMBER_ADDED: EventSpec("user_group.member_added", "UserGroup", U),
    A.GROUP_MEMBER_REMOVED: EventSpec("user_group.member_removed", "UserGroup", U),
    A.EXTERNAL_MEMBER_ADDED: EventSpec("user_group.external_member_added", "UserGroup", U),
    A.EXTERNAL_MEMBER_REMOVED: EventSpec("user_group.external_member_removed", "UserGroup", U),
}


def event_spec(type_: A) -> EventSpec:
    """The table's entry; a history kind added since gets a derived one (a change of the person
    it targets, `user.<kind>`), so a new kind is never a gap in the feed."""
    spec = EVENTS.get(type_)
    return spec if spec is not None else EventSpec(f"user.{type_.value.lower()}", "User", U)


EVENT_NAMES: frozenset[str] = frozenset(event_spec(t).name for t in A)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change feed (and what a webhook delivery tells)."""

    org_id: int
    event_type: str
    entity_type: str
    entity_id: str  # the raw id of the entity's global id (a UUID; "" for the organisation itself)
    kind: ChangeKind


def change_of(activity: Activity, org_id: int | None = None) -> Change | None:
    """The change a history entry records (None only for a type history does not define)."""
    try:
        spec = event_spec(A(activity.type))
    except ValueError:
        return None
    entity_type, entity_id = spec.entity, _entity_id(activity, spec)
    if entity_id is None and activity.target_user_id is not None:
        # e.g. a partner's log entry about its user's membership of a group elsewhere
        entity_type, entity_id = "User", str(activity.target_user_id)
    if entity_id is None:
        entity_type, entity_id = "Organisation", ""  # the global id is the organisation's CVR
    return Change(activity.org_id if org_id is None else org_id, spec.name, entity_type, entity_id, spec.kind)


def _entity_id(a: Activity, spec: EventSpec) -> str | None:
    details = a.details or {}
    if spec.entity == "User":
        return str(a.target_user_id) if a.target_user_id else None
    if spec.entity == "UserGroup":
        return str(a.target_group_id) if a.target_group_id else None
    if spec.entity == "Certificate":
        return _text(details.get("certificateId"))
    if spec.entity == "PowerOfAttorney":
        return _text(details.get("id"))
    if spec.entity == "BulkJob":
        return _text(details.get("bulkJob"))
    return None  # the organisation itself


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
