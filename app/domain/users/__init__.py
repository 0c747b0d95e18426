"""Users: pure rules (`rules`), lifecycle use cases (`lifecycle`) and anonymity (`anonymity`)."""

from app.domain.users.anonymity import decide_anonymity_request, request_anonymity
from app.domain.users.lifecycle import (
    ACTIVATION_LINK_VALIDITY,
    CreatedUser,
    activate_user,
    activation_mail,
    apply_deactivation_schedule,
    create_user,
    deactivate_user,
    delete_user,
    generate_activation_code,
    org_context,
    reactivate_user,
    resend_activation_email,
    send_for_activation,
    set_user_authenticators,
    set_user_organisation_unit,
    update_notification_settings,
    update_user,
)
from app.domain.users.rules import (
    E,
    Errors,
    NewUser,
    OrgContext,
    UserChanges,
    UserErrorCode,
    parse_moment,
    validate_new_user,
)

__all__ = [
    "ACTIVATION_LINK_VALIDITY", "CreatedUser", "E", "Errors", "NewUser", "OrgContext", "UserChanges",
    "UserErrorCode", "activate_user", "activation_mail", "apply_deactivation_schedule", "create_user",
    "deactivate_user", "decide_anonymity_request", "delete_user", "generate_activation_code", "org_context",
    "parse_moment", "reactivate_user", "request_anonymity", "resend_activation_email", "send_for_activation",
    "set_user_authenticators", "set_user_organisation_unit", "update_notification_settings", "update_user",
    "validate_new_user",
]
