"""Organisation settings: everyone views; organisation administrators change; user
administrators may set the default P-unit / SE-number."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import settings as uc
from app.domain.common.organisation import OrganisationSettings as DomainSettings
from app.domain.common.policy import Action
from app.persistence import organisations as organisations_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import UserError, in_unit_of_work, requires
from app.schema.runtime.enums import Authenticator


@strawberry.type
class UserCreationSettings:
    employees_may_request_user: bool
    anonymity_allowed: bool
    required_fields: list[str] = strawberry.field(description="Besides name, email and CPR/date of birth")


@strawberry.type
class AuthenticatorSettings:
    private_mitid_allowed: bool
    allowed: list[Authenticator] = strawberry.field(
        description="Separate MitID authenticators and the shared authenticator allowed (private MitID: privateMitidAllowed)"
    )


@strawberry.type
class CertificateSettings:
    user_certificates: bool
    organisation_certificates: bool
    qualified: bool


@strawberry.type
class OrganisationSettings:
    user_creation: UserCreationSettings
    authenticators: AuthenticatorSettings
    certificates: CertificateSettings
    default_p_number: str | None
    default_se_number: str | None

    @classmethod
    def of(cls, s: DomainSettings) -> OrganisationSettings:
        return cls(
            user_creation=UserCreationSettings(
                employees_may_request_user=s.employees_may_request_user, anonymity_allowed=s.anonymity_allowed,
                required_fields=list(s.required_fields),
            ),
            authenticators=AuthenticatorSettings(
                private_mitid_allowed=s.private_mitid_allowed,
                allowed=[Authenticator(a) for a in s.allowed_authenticators],
            ),
            certificates=CertificateSettings(
                user_certificates=s.user_certificates_allowed,
                organisation_certificates=s.organisation_certificates_allowed,
                qualified=s.qualified_certificates_allowed,
            ),
            default_p_number=s.default_p_number, default_se_number=s.default_se_number,
        )


@strawberry.input
class UserCreationSettingsInput:
    employees_may_request_user: bool | None = None
    anonymity_allowed: bool | None = None
    required_fields: list[str] | None = None


@strawberry.input
class AuthenticatorSettingsInput:
    private_mitid_allowed: bool | None = None
    allowed: list[Authenticator] | None = None


@strawberry.input
class CertificateSettingsInput:
    user_certificates: bool | None = None
    organisation_certificates: bool | None = None
    qualified: bool | None = None


@strawberry.input
class UpdateOrganisationSettingsInput:
    user_creation: UserCreationSettingsInput | None = None
    authenticators: AuthenticatorSettingsInput | None = None
    certificates: CertificateSettingsInput | None = None
    default_p_number: str | None = strawberry.field(default=None, description="An empty string clears it")
    default_se_number: str | None = strawberry.field(default=None, description="An empty string clears it")


@strawberry.input
class SetDefaultOrganisationUnitInput:
    p_number: str | None = None
    se_number: str | None = None


@strawberry.type
class OrganisationSettingsPayload:
    settings: OrganisationSettings | None
    user_errors: list[UserError]


@strawberry.type
class SettingsQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_SETTINGS))
    async def settings(self, info: Info) -> OrganisationSettings:
        return OrganisationSettings.of(await info.context.reader.run(organisations_sql.load_settings))


@strawberry.type
class SettingsMutations:
    @strawberry.mutation(permission_classes=requires(Action.UPDATE_SETTINGS))
    async def update_organisation_settings(
        self, info: Info, input: UpdateOrganisationSettingsInput
    ) -> OrganisationSettingsPayload:
        uc_in, au, ce = input.user_creation, input.authenticators, input.certificates
        changes = uc.SettingsChanges(
            employees_may_request_user=uc_in.employees_may_request_user if uc_in else None,
            anonymity_allowed=uc_in.anonymity_allowed if uc_in else None,
            required_fields=uc_in.required_fields if uc_in else None,
            private_mitid_allowed=au.private_mitid_allowed if au else None,
            allowed_authenticators=[a.value for a in au.allowed] if au and au.allowed is not None else None,
            user_certificates_allowed=ce.user_certificates if ce else None,
            organisation_certificates_allowed=ce.organisation_certificates if ce else None,
            qualified_certificates_allowed=ce.qualified if ce else None,
            default_p_number=input.default_p_number, default_se_number=input.default_se_number,
        )
        result, errors = await in_unit_of_work(info, lambda uow: uc.update_organisation_settings(uow, changes))
        return OrganisationSettingsPayload(settings=OrganisationSettings.of(result) if result else None,
                                           user_errors=errors)

    @strawberry.mutation(permission_classes=requires(Action.SET_DEFAULT_ORGANISATION_UNIT))
    async def set_default_organisation_unit(
        self, info: Info, input: SetDefaultOrganisationUnitInput
    ) -> OrganisationSettingsPayload:
        result, errors = await in_unit_of_work(
            info, lambda uow: uc.set_default_organisation_unit(uow, input.p_number, input.se_number)
        )
        return OrganisationSettingsPayload(settings=OrganisationSettings.of(result) if result else None,
                                           user_errors=errors)


AREA = Area(queries=(SettingsQueries,), mutations=(SettingsMutations,))
