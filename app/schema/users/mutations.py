"""User mutations: each checks the policy, runs one use case in one transaction, maps the result."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from app.adapters.pki import pki_for
from app.domain.common.errors import Forbidden
from app.domain.common.policy import Action
from app.domain.users import anonymity, deactivation, editing, lifecycle
from app.domain.users.model import User as DomainUser
from app.domain.users.rules import NewUser, UserChanges
from app.persistence.activation import activate_pending
from app.schema.runtime.base import UserError, forbidden, in_unit_of_work, not_found, requires, uuid_of
from app.schema.runtime.enums import Authenticator
from app.schema.users.queries import AnonymityRequestNode
from app.schema.users.types import User


@strawberry.input
class CreateUserInput:
    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    cpr: str | None = strawberry.field(default=None, description="DDMMYY-SSSS or DDMMYYSSSS")
    date_of_birth: str | None = strawberry.field(default=None, description="ISO date; instead of a CPR")
    anonymous: bool = False
    authenticators: list[Authenticator] = strawberry.field(default_factory=list)
    p_number: str | None = None
    se_number: str | None = None
    rights: list[str] = strawberry.field(default_factory=list)
    can_sign: bool = False
    can_create_seal: bool = False
    reference: str | None = None


@strawberry.type
class CreateUserPayload:
    user: User | None
    temporary_activation_code: str | None = strawberry.field(
        description="Date-of-birth users only: shown once, pass it on through a secure channel"
    )
    user_errors: list[UserError]


@strawberry.input(
    description="Only the fields given change, with the rules of createUser. User administrators may change "
    "every field; rights administrators `rights` only (any other field given: FORBIDDEN, nothing written)."
)
class UpdateUserInput:
    user_id: strawberry.ID
    email: str | None = None
    phone: str | None = strawberry.field(default=None, description="An empty string clears it")
    reference: str | None = strawberry.field(default=None, description="An empty string clears it")
    first_name: str | None = strawberry.field(
        default=None, description="Not of an anonymous user (ANONYMOUS_NAME_FIXED)"
    )
    last_name: str | None = strawberry.field(
        default=None, description="Not of an anonymous user (ANONYMOUS_NAME_FIXED)"
    )
    rights: list[str] | None = strawberry.field(
        default=None, description="The user's own rights as a whole, codes from `rightsCatalogue`; [] removes all"
    )
    can_sign: bool | None = strawberry.field(
        default=None, description="true only where the organisation allows certificates"
    )
    can_create_seal: bool | None = strawberry.field(
        default=None, description="true only where the organisation allows certificates"
    )


@strawberry.type
class UserPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.input
class SetUserAuthenticatorsInput:
    user_id: strawberry.ID
    authenticators: list[Authenticator]


@strawberry.input
class SetUserOrganisationUnitInput:
    user_id: strawberry.ID
    p_number: str | None = None
    se_number: str | None = None


@strawberry.input
class UserIdInput:
    user_id: strawberry.ID


@strawberry.type
class GenerateActivationCodePayload:
    user: User | None
    temporary_activation_code: str | None
    user_errors: list[UserError]


@strawberry.input
class DeactivateUserInput:
    user_id: strawberry.ID
    from_: str | None = strawberry.field(name="from", default=None, description="ISO date or date-time; default now")
    until: str | None = strawberry.field(default=None, description="ISO date (inclusive) or date-time; default open")


@strawberry.input
class RequestAnonymityInput:
    reason: str | None = None


@strawberry.type
class AnonymityRequestPayload:
    request: AnonymityRequestNode | None
    new_user: User | None = None
    temporary_activation_code: str | None = strawberry.field(
        default=None, description="When the recreated user is identified by date of birth: shown once"
    )
    user_errors: list[UserError]


@strawberry.input
class AnonymityDecisionInput:
    request_id: strawberry.ID


@strawberry.input
class ActivateUserInput:
    token: str | None = strawberry.field(default=None, description="From the activation email's link")
    user_id: strawberry.ID | None = strawberry.field(default=None, description="With `code`")
    code: str | None = strawberry.field(default=None, description="The temporary activation code")


@strawberry.type
class ActivateUserPayload:
    activated: bool
    user_uuid: uuid.UUID | None
    user_errors: list[UserError]


async def _user_mutation(
    info: Info, raw_id: str, use_case: Callable[[Any, uuid.UUID], Awaitable[DomainUser]]
) -> UserPayload:
    user_id = uuid_of(raw_id, "User")
    if user_id is None:
        return UserPayload(user=None, user_errors=not_found("userId", "User"))
    try:
        user, errors = await in_unit_of_work(info, lambda uow: use_case(uow, user_id))
    except Forbidden as exc:  # refused after the user was found (rolled back: nothing written)
        raise forbidden(exc.message) from None
    return UserPayload(user=User.of(user, info) if user else None, user_errors=errors)


@strawberry.type
class UserMutations:
    @strawberry.mutation(permission_classes=requires(Action.CREATE_USER))
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserPayload:
        data = NewUser(
            first_name=input.first_name, last_name=input.last_name, email=input.email, phone=input.phone,
            cpr=input.cpr, date_of_birth=input.date_of_birth, anonymous=input.anonymous,
            authenticators=[a.value for a in input.authenticators], p_number=input.p_number,
            se_number=input.se_number, rights=input.rights, can_sign=input.can_sign,
            can_create_seal=input.can_create_seal, reference=input.reference,
        )
        created, errors = await in_unit_of_work(info, lambda uow: lifecycle.create_user(uow, data))
        if created is None:
            return CreateUserPayload(user=None, temporary_activation_code=None, user_errors=errors)
        return CreateUserPayload(
            user=User.of(created.user, info),
            temporary_activation_code=created.temporary_activation_code,
            user_errors=[],
        )

    @strawberry.mutation(permission_classes=requires(Action.UPDATE_USER_RIGHTS))
    async def update_user(self, info: Info, input: UpdateUserInput) -> UserPayload:
        changes = UserChanges(
            email=input.email, phone=input.phone, reference=input.reference, first_name=input.first_name,
            last_name=input.last_name, rights=input.rights, can_sign=input.can_sign,
            can_create_seal=input.can_create_seal,
        )
        return await _user_mutation(info, input.user_id, lambda uow, uid: editing.update_user(uow, uid, changes))

    @strawberry.mutation(permission_classes=requires(Action.SET_USER_AUTHENTICATORS))
    async def set_user_authenticators(self, info: Info, input: SetUserAuthenticatorsInput) -> UserPayload:
        kinds = [a.value for a in input.authenticators]
        return await _user_mutation(
            info, input.user_id, lambda uow, uid: editing.set_user_authenticators(uow, uid, kinds)
        )

    @strawberry.mutation(permission_classes=requires(Action.SET_USER_ORGANISATION_UNIT))
    async def set_user_organisation_unit(self, info: Info, input: SetUserOrganisationUnitInput) -> UserPayload:
        return await _user_mutation(
            info,
            input.user_id,
            lambda uow, uid: editing.set_user_organisation_unit(uow, uid, input.p_number, input.se_number),
        )

    @strawberry.mutation(permission_classes=requires(Action.SEND_ACTIVATION))
    async def resend_activation_email(self, info: Info, input: UserIdInput) -> UserPayload:
        return await _user_mutation(info, input.user_id, lifecycle.resend_activation_email)

    @strawberry.mutation(permission_classes=requires(Action.SEND_ACTIVATION))
    async def generate_activation_code(self, info: Info, input: UserIdInput) -> GenerateActivationCodePayload:
        user_id = uuid_of(input.user_id, "User")
        if user_id is None:
            return GenerateActivationCodePayload(
                user=None, temporary_activation_code=None, user_errors=not_found("userId", "User")
            )
        result, errors = await in_unit_of_work(info, lambda uow: lifecycle.generate_activation_code(uow, user_id))
        if result is None:
            return GenerateActivationCodePayload(user=None, temporary_activation_code=None, user_errors=errors)
        return GenerateActivationCodePayload(
            user=User.of(result[0], info), temporary_activation_code=result[1], user_errors=[]
        )

    @strawberry.mutation(permission_classes=requires(Action.DEACTIVATE_USER))
    async def deactivate_user(self, info: Info, input: DeactivateUserInput) -> UserPayload:
        return await _user_mutation(
            info, input.user_id, lambda uow, uid: deactivation.deactivate_user(uow, uid, input.from_, input.until)
        )

    @strawberry.mutation(permission_classes=requires(Action.REACTIVATE_USER))
    async def reactivate_user(self, info: Info, input: UserIdInput) -> UserPayload:
        return await _user_mutation(info, input.user_id, deactivation.reactivate_user)

    @strawberry.mutation(permission_classes=requires(Action.DELETE_USER))
    async def delete_user(self, info: Info, input: UserIdInput) -> UserPayload:
        ca = pki_for(info.context.services.settings)
        return await _user_mutation(info, input.user_id, lambda uow, uid: deactivation.delete_user(uow, ca, uid))

    @strawberry.mutation(permission_classes=requires(Action.REQUEST_ANONYMITY))
    async def request_anonymity(
        self, info: Info, input: RequestAnonymityInput | None = None
    ) -> AnonymityRequestPayload:
        reason = input.reason if input else None
        request, errors = await in_unit_of_work(info, lambda uow: anonymity.request_anonymity(uow, reason))
        return AnonymityRequestPayload(
            request=AnonymityRequestNode.of(request) if request else None, user_errors=errors
        )

    @strawberry.mutation(permission_classes=requires(Action.DECIDE_ANONYMITY_REQUEST))
    async def approve_anonymity_request(self, info: Info, input: AnonymityDecisionInput) -> AnonymityRequestPayload:
        return await _decide(info, input.request_id, approve=True)

    @strawberry.mutation(permission_classes=requires(Action.DECIDE_ANONYMITY_REQUEST))
    async def reject_anonymity_request(self, info: Info, input: AnonymityDecisionInput) -> AnonymityRequestPayload:
        return await _decide(info, input.request_id, approve=False)

    @strawberry.mutation(description="The user's first login (public: no token needed).")
    async def activate_user(self, info: Info, input: ActivateUserInput) -> ActivateUserPayload:
        services = info.context.services
        user_id = uuid_of(input.user_id, "User") if input.user_id else None
        user = await activate_pending(services.engine, services.unit_of_work, services.platform.hash_token,
                                      token=input.token, user_id=user_id, code=input.code)
        if user is None:
            return ActivateUserPayload(
                activated=False,
                user_uuid=None,
                user_errors=[UserError(field=None, code="INVALID_ACTIVATION",
                                       message="The activation link or code is invalid or expired")],
            )
        return ActivateUserPayload(activated=True, user_uuid=user.id, user_errors=[])


async def _decide(info: Info, raw_id: str, *, approve: bool) -> AnonymityRequestPayload:
    request_id = uuid_of(raw_id, "AnonymityRequest")
    if request_id is None:
        return AnonymityRequestPayload(request=None, user_errors=not_found("requestId", "Anonymity request"))
    ca = pki_for(info.context.services.settings)
    result, errors = await in_unit_of_work(
        info, lambda uow: anonymity.decide_anonymity_request(uow, ca, request_id, approve=approve)
    )
    if result is None:
        return AnonymityRequestPayload(request=None, user_errors=errors)
    request, new_user, code = result
    return AnonymityRequestPayload(
        request=AnonymityRequestNode.of(request),
        new_user=User.of(new_user, info) if new_user else None,
        temporary_activation_code=code,
        user_errors=[],
    )
