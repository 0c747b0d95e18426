"""The one table of who may do what. Enforced by the API layer before any use case runs."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from app.domain.common.principal import Principal, Role

OA = Role.ORGANISATION_ADMINISTRATOR
UA = Role.USER_ADMINISTRATOR
RA = Role.RIGHTS_ADMINISTRATOR
U = Role.USER
EVERYONE = frozenset(Role)


class Action(enum.StrEnum):
    VIEW_ORGANISATION = "VIEW_ORGANISATION"
    VIEW_USERS = "VIEW_USERS"
    VIEW_ACTIVITIES = "VIEW_ACTIVITIES"
    VIEW_OWN_PROFILE = "VIEW_OWN_PROFILE"
    CREATE_USER = "CREATE_USER"
    UPDATE_USER = "UPDATE_USER"
    UPDATE_USER_RIGHTS = "UPDATE_USER_RIGHTS"
    SET_USER_AUTHENTICATORS = "SET_USER_AUTHENTICATORS"
    SET_USER_ORGANISATION_UNIT = "SET_USER_ORGANISATION_UNIT"
    SEND_ACTIVATION = "SEND_ACTIVATION"
    DEACTIVATE_USER = "DEACTIVATE_USER"
    REACTIVATE_USER = "REACTIVATE_USER"
    DELETE_USER = "DELETE_USER"
    REQUEST_ANONYMITY = "REQUEST_ANONYMITY"
    VIEW_ANONYMITY_REQUESTS = "VIEW_ANONYMITY_REQUESTS"
    DECIDE_ANONYMITY_REQUEST = "DECIDE_ANONYMITY_REQUEST"
    MANAGE_OWN_NOTIFICATIONS = "MANAGE_OWN_NOTIFICATIONS"
    IMPORT_USERS = "IMPORT_USERS"
    VIEW_RIGHTS_CATALOGUE = "VIEW_RIGHTS_CATALOGUE"
    VIEW_SETTINGS = "VIEW_SETTINGS"
    UPDATE_SETTINGS = "UPDATE_SETTINGS"
    SET_DEFAULT_ORGANISATION_UNIT = "SET_DEFAULT_ORGANISATION_UNIT"
    VIEW_BILLING = "VIEW_BILLING"
    UPDATE_BILLING = "UPDATE_BILLING"
    VIEW_POWERS_OF_ATTORNEY = "VIEW_POWERS_OF_ATTORNEY"
    MANAGE_POWERS_OF_ATTORNEY = "MANAGE_POWERS_OF_ATTORNEY"
    VIEW_USER_GROUPS = "VIEW_USER_GROUPS"
    MANAGE_USER_GROUPS = "MANAGE_USER_GROUPS"
    MANAGE_GROUP_MEMBERS = "MANAGE_GROUP_MEMBERS"
    FIND_EXTERNAL_USERS = "FIND_EXTERNAL_USERS"
    VIEW_EXTERNAL_MEMBERSHIPS = "VIEW_EXTERNAL_MEMBERSHIPS"
    LEAVE_EXTERNAL_GROUP = "LEAVE_EXTERNAL_GROUP"
    VIEW_BULK_JOBS = "VIEW_BULK_JOBS"
    VIEW_CERTIFICATES = "VIEW_CERTIFICATES"
    VIEW_OWN_CERTIFICATES = "VIEW_OWN_CERTIFICATES"
    ORDER_CERTIFICATE = "ORDER_CERTIFICATE"
    ISSUE_OWN_CERTIFICATE = "ISSUE_OWN_CERTIFICATE"
    CANCEL_CERTIFICATE_ORDER = "CANCEL_CERTIFICATE_ORDER"
    RETRIEVE_ORGANISATION_CERTIFICATE = "RETRIEVE_ORGANISATION_CERTIFICATE"
    RENEW_CERTIFICATE = "RENEW_CERTIFICATE"
    REVOKE_CERTIFICATE = "REVOKE_CERTIFICATE"
    REVOKE_OWN_CERTIFICATE = "REVOKE_OWN_CERTIFICATE"
    DELETE_CERTIFICATE = "DELETE_CERTIFICATE"
    UPDATE_CERTIFICATE_RIGHTS = "UPDATE_CERTIFICATE_RIGHTS"
    VIEW_USER_ACCOUNT_REQUESTS = "VIEW_USER_ACCOUNT_REQUESTS"
    DECIDE_USER_ACCOUNT_REQUEST = "DECIDE_USER_ACCOUNT_REQUEST"
    VIEW_CHANGES = "VIEW_CHANGES"
    MANAGE_WEBHOOKS = "MANAGE_WEBHOOKS"
    ASSIGN_ROLE = "ASSIGN_ROLE"
    REMOVE_ROLE = "REMOVE_ROLE"


POLICY: dict[Action, frozenset[Role]] = {
    Action.VIEW_ORGANISATION: EVERYONE,
    Action.VIEW_USERS: frozenset({OA, UA, RA}),
    Action.VIEW_ACTIVITIES: frozenset({OA, UA}),
    Action.VIEW_OWN_PROFILE: EVERYONE,
    Action.CREATE_USER: frozenset({UA}),
    Action.UPDATE_USER: frozenset({UA}),
    # updateUser's gate: rights administrators reach it to change rights only (the use case refuses
    # them every other field); user administrators change everything.
    Action.UPDATE_USER_RIGHTS: frozenset({UA, RA}),
    Action.SET_USER_AUTHENTICATORS: frozenset({UA}),
    Action.SET_USER_ORGANISATION_UNIT: frozenset({UA}),
    Action.SEND_ACTIVATION: frozenset({UA}),
    Action.DEACTIVATE_USER: frozenset({UA}),
    Action.REACTIVATE_USER: frozenset({UA}),
    Action.DELETE_USER: frozenset({UA}),
    Action.REQUEST_ANONYMITY: EVERYONE,
    Action.VIEW_ANONYMITY_REQUESTS: frozenset({UA}),
    Action.DECIDE_ANONYMITY_REQUEST: frozenset({UA}),
    Action.MANAGE_OWN_NOTIFICATIONS: EVERYONE,
    Action.IMPORT_USERS: frozenset({UA}),
    Action.VIEW_RIGHTS_CATALOGUE: EVERYONE,
    # Settings and billing: organisation administrators change, user and rights administrators only
    # view (a user administrator may move the default P-unit / SE-number).
    Action.VIEW_SETTINGS: EVERYONE,
    Action.UPDATE_SETTINGS: frozenset({OA}),
    Action.SET_DEFAULT_ORGANISATION_UNIT: frozenset({OA, UA}),
    Action.VIEW_BILLING: frozenset({OA, UA, RA}),
    Action.UPDATE_BILLING: frozenset({OA}),
    Action.VIEW_POWERS_OF_ATTORNEY: frozenset({OA, UA, RA}),
    Action.MANAGE_POWERS_OF_ATTORNEY: frozenset({OA}),
    Action.VIEW_USER_GROUPS: frozenset({OA, UA, RA}),
    Action.MANAGE_USER_GROUPS: frozenset({OA}),
    Action.MANAGE_GROUP_MEMBERS: frozenset({UA, RA}),
    Action.FIND_EXTERNAL_USERS: frozenset({UA, RA}),
    Action.VIEW_EXTERNAL_MEMBERSHIPS: frozenset({OA, UA, RA}),
    Action.LEAVE_EXTERNAL_GROUP: frozenset({OA, UA, RA}),
    Action.VIEW_BULK_JOBS: frozenset({UA}),
    # Certificates: user administrators manage user and organisation certificates, organisation
    # administrators see them (billing counts them); a holder sees and issues their own.
    Action.VIEW_CERTIFICATES: frozenset({OA, UA}),
    Action.VIEW_OWN_CERTIFICATES: EVERYONE,
    Action.ORDER_CERTIFICATE: frozenset({UA}),
    Action.ISSUE_OWN_CERTIFICATE: EVERYONE,
    Action.CANCEL_CERTIFICATE_ORDER: frozenset({UA}),
    Action.RETRIEVE_ORGANISATION_CERTIFICATE: frozenset({UA}),
    Action.RENEW_CERTIFICATE: frozenset({UA}),
    Action.REVOKE_CERTIFICATE: frozenset({UA}),
    # The holder blocks their own (the use case finds no one else's).
    Action.REVOKE_OWN_CERTIFICATE: EVERYONE,
    Action.DELETE_CERTIFICATE: frozenset({UA}),
    Action.UPDATE_CERTIFICATE_RIGHTS: frozenset({UA}),
    # Employees' requests for a user account (asked for on a public form): user administrators.
    Action.VIEW_USER_ACCOUNT_REQUESTS: frozenset({UA}),
    Action.DECIDE_USER_ACCOUNT_REQUEST: frozenset({UA}),
    # The change feed (entity ids and kinds of change, for sync tools): the administrators who see
    # the history. Webhooks send the same outside: organisation administrators register them.
    Action.VIEW_CHANGES: frozenset({OA, UA}),
    Action.MANAGE_WEBHOOKS: frozenset({OA}),
    # Roles held by the gateway: organisation administrators give and take them.
    Action.ASSIGN_ROLE: frozenset({OA}),
    Action.REMOVE_ROLE: frozenset({OA}),
}


def is_allowed(roles: frozenset[Role], action: Action) -> bool:
    return bool(roles & POLICY[action])


def can_view_user(principal: Principal, user_id: uuid.UUID) -> bool:
    """Administrators see the organisation's users; everyone sees themself."""
    return is_allowed(principal.roles, Action.VIEW_USERS) or principal.user_id == user_id


def can_view_certificates_of(principal: Principal, holder_id: uuid.UUID | None) -> bool:
    """Certificate viewers see the organisation's certificates; a holder sees their own."""
    return is_allowed(principal.roles, Action.VIEW_CERTIFICATES) or (
        holder_id is not None and principal.user_id == holder_id
    )


def can_view_anonymity_request(principal: Principal, requester_id: uuid.UUID) -> bool:
    """Those who decide requests see the organisation's; a requester sees their own."""
    return is_allowed(principal.roles, Action.VIEW_ANONYMITY_REQUESTS) or principal.user_id == requester_id


def reveals_identity(principal: Principal, user_id: uuid.UUID) -> bool:
    """Anonymous users show only their UUID to non-administrators (themselves excepted)."""
    return principal.is_administrator or principal.user_id == user_id


# --- below the root: who may see each object type, and follow each relation ------------------------
#
# Root fields are gated by POLICY above (one action each). Below the root, every object type of the
# schema has an entry in TYPES and every relation (a field with a resolver or an object-valued field)
# of a non-wrapper type one in RELATIONS; the API layer applies both to every field on every path
# (`viewer`, `node(id:)`, fragments, connections, nested relations, mutation payloads). A test fails
# for a type or relation without an entry. Names are the API's (GraphQL type and field names).


@dataclass(frozen=True, slots=True)
class Reach:
    """Who may see an object of a type (or follow a relation): the roles of `action` - None: whoever
    reached it, the parent's rule decides - and, with `own`, also a person on their own objects
    (their profile, certificates, history entries, anonymity requests, the groups they belong to)."""

    action: Action | None
    own: bool = False


THROUGH = Reach(None)  # values and wrappers: visible to whoever reached their parent


# Connections, edges and payloads: their fields pass on what the parent's rule allowed (the root
# field, or the relation that led here), so their own fields need no RELATIONS entry.
WRAPPERS: frozenset[str] = frozenset({
    "ActivityConnection", "ActivityEdge", "CertificateConnection", "CertificateEdge", "ExternalMembershipConnection",
    "ExternalMembershipEdge", "GroupMemberConnection", "GroupMemberEdge", "NotificationConnection", "NotificationEdge",
    "PowerOfAttorneyConnection", "PowerOfAttorneyEdge", "UserConnection", "UserEdge", "UserGroupConnection",
    "UserGroupEdge", "ActivateUserPayload", "AnonymityRequestPayload", "BillingPayload", "CertificatePayload",
    "CreateUserPayload", "DeleteCertificatePayload", "DeleteUserGroupPayload", "GenerateActivationCodePayload",
    "ImportUsersPayload", "IssueCertificatePayload", "LeaveExternalGroupPayload", "MarkNotificationsReadPayload",
    "NotificationSettingsPayload", "OrganisationSettingsPayload", "PowerOfAttorneyPayload",
    "SendUsersForActivationPayload", "UserGroupPayload", "UserPayload",
    "UserAccountRequestConnection", "UserAccountRequestEdge", "RequestUserAccountPayload",
    "ConfirmUserAccountRequestPayload", "UserAccountRequestPayload",
    "ChangeConnection", "ChangeEdge", "WebhookEndpointConnection", "WebhookEndpointEdge",
    "WebhookDeliveryConnection", "WebhookDeliveryEdge", "CreateWebhookEndpointPayload",
    "DeleteWebhookEndpointPayload",
})

TYPES: dict[str, Reach] = {
    **{name: THROUGH for name in WRAPPERS},
    # people and what belongs to them
    "User": Reach(Action.VIEW_USERS, own=True),
    "Deactivation": THROUGH,
    "Activity": Reach(Action.VIEW_ACTIVITIES, own=True),
    "AnonymityRequest": Reach(Action.VIEW_ANONYMITY_REQUESTS, own=True),
    "ActivationCode": Reach(Action.SEND_ACTIVATION),
    "Notification": Reach(Action.MANAGE_OWN_NOTIFICATIONS),
    "NotificationSettings": Reach(Action.MANAGE_OWN_NOTIFICATIONS),
    "Viewer": THROUGH,
    # the organisation
    "Organisation": Reach(Action.VIEW_ORGANISATION),
    "PUnit": THROUGH,
    "SeNumber": THROUGH,
    "OrganisationSettings": Reach(Action.VIEW_SETTINGS),
    "UserCreationSettings": THROUGH,
    "AuthenticatorSettings": THROUGH,
    "CertificateSettings": THROUGH,
    "Billing": Reach(Action.VIEW_BILLING),
    "BillingCounts": THROUGH,
    "NemHandelDetails": THROUGH,
    "PowerOfAttorney": Reach(Action.VIEW_POWERS_OF_ATTORNEY),
    "ExternalOrganisation": THROUGH,
    # groups and partners
    "Right": Reach(Action.VIEW_RIGHTS_CATALOGUE),
    "UserGroup": Reach(Action.VIEW_USER_GROUPS, own=True),
    "ExternalUser": Reach(Action.VIEW_USER_GROUPS),
    "ExternalMembership": Reach(Action.VIEW_EXTERNAL_MEMBERSHIPS),
    # imports
    "BulkJob": Reach(Action.VIEW_BULK_JOBS),
    "BulkJobResult": THROUGH,
    "BulkProgress": THROUGH,
    "RowError": Reach(Action.VIEW_BULK_JOBS),
    # certificates
    "Certificate": Reach(Action.VIEW_CERTIFICATES, own=True),
    "CertificateProfile": Reach(Action.VIEW_CERTIFICATES),
    # employees' requests for a user account
    "UserAccountRequest": Reach(Action.VIEW_USER_ACCOUNT_REQUESTS),
    # reporting (counts only: whoever may list the users / certificates)
    "UserStats": Reach(Action.VIEW_USERS),
    "UserStatusCount": THROUGH,
    "IdentificationCount": THROUGH,
    "AuthenticatorCount": THROUGH,
    "OrganisationUnitCount": THROUGH,
    "CertificateStats": Reach(Action.VIEW_CERTIFICATES),
    "CertificateKindCount": THROUGH,
    "CertificateStatusCount": THROUGH,
    # the change feed and webhooks
    "Change": Reach(Action.VIEW_CHANGES),
    "WebhookEndpoint": Reach(Action.MANAGE_WEBHOOKS),
    "WebhookDelivery": Reach(Action.MANAGE_WEBHOOKS),
    # shared values
    "PageInfo": THROUGH,
    "UserError": THROUGH,
}

RELATIONS: dict[str, Reach] = {
    # A person's profile: administrators, and the person themself.
    "User.authenticators": Reach(Action.VIEW_USERS, own=True),
    "User.rights": Reach(Action.VIEW_USERS, own=True),
    "User.effectiveRights": Reach(Action.VIEW_USERS, own=True),
    "User.roles": Reach(Action.VIEW_USERS, own=True),
    "User.groups": Reach(Action.VIEW_USERS, own=True),
    "User.deactivation": THROUGH,
    # A person's history and certificates: who may read the log / certificates, and the person.
    "User.history": Reach(Action.VIEW_ACTIVITIES, own=True),
    "User.certificates": Reach(Action.VIEW_CERTIFICATES, own=True),
    # Group members (names of everyone in the group, partners included): group viewers only.
    "UserGroup.members": Reach(Action.VIEW_USER_GROUPS),
    "UserGroup.rights": THROUGH,
    # References to a person give null for one the caller may not see (as a missing one would).
    "Activity.actor": THROUGH,
    "Activity.targetUser": THROUGH,
    "Activity.details": THROUGH,
    "AnonymityRequest.user": THROUGH,
    "AnonymityRequest.newUser": THROUGH,
    "ActivationCode.user": THROUGH,
    "Certificate.user": THROUGH,
    "Certificate.orderedBy": THROUGH,
    "Certificate.predecessor": THROUGH,
    "Certificate.successor": THROUGH,
    "Certificate.profile": Reach(Action.VIEW_CERTIFICATES),
    # Values worked out from the object itself (read lazily): whoever sees the object.
    "Certificate.certificatePem": THROUGH,
    "Certificate.systemRights": THROUGH,
    "Notification.read": THROUGH,
    "BulkJobResult.affectedUserCount": THROUGH,
    "ExternalMembership.user": Reach(Action.VIEW_USERS),
    "ExternalMembership.organisation": THROUGH,
    "ExternalUser.organisation": THROUGH,
    "BulkJob.progress": THROUGH,
    "BulkJob.result": THROUGH,
    "BulkJob.rowErrors": THROUGH,
    "BulkJobResult.affectedUsers": THROUGH,  # BulkJob is for user administrators; each User is checked too
    "Viewer.user": THROUGH,
    # The aggregates' breakdowns: counts, as the aggregate itself.
    "UserStats.byStatus": THROUGH,
    "UserStats.byIdentification": THROUGH,
    "UserStats.byAuthenticator": THROUGH,
    "UserStats.byOrganisationUnit": THROUGH,
    "CertificateStats.byKind": THROUGH,
    "CertificateStats.byStatus": THROUGH,
    "Viewer.organisation": Reach(Action.VIEW_ORGANISATION),
    "Organisation.pUnits": THROUGH,
    "Organisation.seNumbers": THROUGH,
    "OrganisationSettings.userCreation": THROUGH,
    "OrganisationSettings.authenticators": THROUGH,
    "OrganisationSettings.certificates": THROUGH,
    "Billing.nemhandel": THROUGH,
    "Billing.counts": THROUGH,
    "PowerOfAttorney.grantedBy": THROUGH,
    "PowerOfAttorney.grantedTo": THROUGH,
    "PowerOfAttorney.rights": THROUGH,
    "UserAccountRequest.user": THROUGH,
    "UserAccountRequest.decidedBy": THROUGH,
    "WebhookEndpoint.deliveries": THROUGH,  # who sees the endpoint (organisation administrators)
}


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    OWN = "own"  # allowed on the caller's own objects only


def decide(reach: Reach, roles: frozenset[Role]) -> Decision:
    """THROUGH allows whoever reached the parent - also a caller without a token on a public root
    field (activateUser's payload)."""
    if reach.action is None or roles & POLICY[reach.action]:
        return Decision.ALLOW
    return Decision.OWN if reach.own else Decision.DENY
