"""Certificate mutations: each checks the policy, runs one use case in one transaction, maps the
result. A generated key leaves the gateway once, in the payload's PKCS#12."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from app.adapters.pki import Pki, pki_for
from app.domain.certificates import changes, lifecycle
from app.domain.certificates.model import (
    Certificate as DomainCertificate,
)
from app.domain.certificates.model import (
    CertificateIssuance,
    CertificatePurpose,
    CertificateType,
    IssuedCertificate,
    RevocationReason,
)
from app.domain.certificates.rules import ProfileInput
from app.domain.common.policy import Action
from app.schema.certificates.types import CertificateNode, now_of
from app.schema.runtime.base import UserError, in_unit_of_work, not_found, requires, to_global_id, uuid_of


def _ca(info: Info) -> Pki:
    return pki_for(info.context.services.settings)


@strawberry.input
class OrderUserCertificateInput:
    user_id: strawberry.ID
    type: CertificateType = CertificateType.STANDARD
    issuance: CertificateIssuance = strawberry.field(
        default=CertificateIssuance.SOFTWARE,
        description="SOFTWARE: the holder gets a generated key in a PKCS#12; HARDWARE: the holder submits a CSR",
    )


@strawberry.input
class IssueCertificateInput:
    certificate_id: strawberry.ID
    csr: str | None = strawberry.field(default=None, description="PEM certificate signing request (hardware)")
    password: str | None = strawberry.field(
        default=None, description="Protects the generated key's PKCS#12 (software); at least 8 characters"
    )


@strawberry.input
class CertificateIdInput:
    certificate_id: strawberry.ID


@strawberry.input
class OrderOrganisationCertificateInput:
    profile_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing profile; otherwise the fields below create one"
    )
    name: str | None = None
    email: str | None = strawberry.field(default=None, description="The email in the certificate (no æ, ø, å)")
    contact_name: str | None = None
    contact_email: str | None = None
    p_number: str | None = None
    se_number: str | None = None
    type: CertificateType = CertificateType.STANDARD
    purposes: list[CertificatePurpose] | None = strawberry.field(
        default=None, description="AUTHENTICATION and/or SEAL; both by default"
    )


@strawberry.input
class RevokeCertificateInput:
    certificate_id: strawberry.ID
    reason: RevocationReason


@strawberry.input
class UpdateCertificateRightsInput:
    certificate_id: strawberry.ID
    system_rights: list[str] | None = strawberry.field(default=None, description="Right codes; null: unchanged")
    can_seal: bool | None = None
    allow_user_signing: bool | None = None


@strawberry.type
class CertificatePayload:
    certificate: CertificateNode | None
    user_errors: list[UserError]


@strawberry.type
class IssueCertificatePayload:
    certificate: CertificateNode | None
    certificate_pem: str | None = strawberry.field(description="The issued certificate (PEM)")
    pkcs12: str | None = strawberry.field(
        description="Base64 PKCS#12 with the generated key, certificate and CA; shown once, never stored"
    )
    user_errors: list[UserError]


@strawberry.type
class DeleteCertificatePayload:
    deleted_certificate_id: strawberry.ID | None
    user_errors: list[UserError]


def _id(raw: str) -> uuid.UUID | None:
    return uuid_of(raw, "Certificate")


async def _certificate_mutation(
    info: Info, raw_id: str, use_case: Callable[[Any, uuid.UUID], Awaitable[DomainCertificate]]
) -> CertificatePayload:
    certificate_id = _id(raw_id)
    if certificate_id is None:
        return CertificatePayload(certificate=None, user_errors=not_found("certificateId", "Certificate"))
    cert, errors = await in_unit_of_work(info, lambda uow: use_case(uow, certificate_id))
    return CertificatePayload(certificate=CertificateNode.of(cert, now_of(info)) if cert else None, user_errors=errors)


async def _issuing_mutation(
    info: Info, raw_id: str, use_case: Callable[[Any, uuid.UUID], Awaitable[IssuedCertificate]]
) -> IssueCertificatePayload:
    certificate_id = _id(raw_id)
    if certificate_id is None:
        return IssueCertificatePayload(
            certificate=None, certificate_pem=None, pkcs12=None, user_errors=not_found("certificateId", "Certificate")
        )
    issued, errors = await in_unit_of_work(info, lambda uow: use_case(uow, certificate_id))
    if issued is None:
        return IssueCertificatePayload(certificate=None, certificate_pem=None, pkcs12=None, user_errors=errors)
    return IssueCertificatePayload(
        certificate=CertificateNode.of(issued.certificate, now_of(info)),
        certificate_pem=issued.certificate_pem,
        pkcs12=base64.b64encode(issued.pkcs12).decode() if issued.pkcs12 is not None else None,
        user_errors=[],
    )


@strawberry.type
class CertificateMutations:
    @strawberry.mutation(permission_classes=requires(Action.ORDER_CERTIFICATE))
    async def order_user_certificate(self, info: Info, input: OrderUserCertificateInput) -> CertificatePayload:
        user_id = uuid_of(input.user_id, "User")
        if user_id is None:
            return CertificatePayload(certificate=None, user_errors=not_found("userId", "User"))
        ca = _ca(info)
        cert, errors = await in_unit_of_work(
            info, lambda uow: lifecycle.order_user_certificate(uow, ca, user_id, input.type, input.issuance)
        )
        return CertificatePayload(
            certificate=CertificateNode.of(cert, now_of(info)) if cert else None, user_errors=errors
        )

    @strawberry.mutation(
        permission_classes=requires(Action.ISSUE_OWN_CERTIFICATE),
        description="The holder issues their ordered user certificate (a CSR, or a password for a generated key).",
    )
    async def issue_user_certificate(self, info: Info, input: IssueCertificateInput) -> IssueCertificatePayload:
        ca = _ca(info)
        return await _issuing_mutation(
            info, input.certificate_id,
            lambda uow, cid: lifecycle.issue_user_certificate(uow, ca, cid, input.csr, input.password),
        )

    @strawberry.mutation(permission_classes=requires(Action.CANCEL_CERTIFICATE_ORDER))
    async def cancel_certificate_order(self, info: Info, input: CertificateIdInput) -> CertificatePayload:
        return await _certificate_mutation(info, input.certificate_id, lifecycle.cancel_certificate_order)

    @strawberry.mutation(permission_classes=requires(Action.ORDER_CERTIFICATE))
    async def order_organisation_certificate(
        self, info: Info, input: OrderOrganisationCertificateInput
    ) -> CertificatePayload:
        profile_id = None
        if input.profile_id is not None:
            profile_id = uuid_of(input.profile_id, "CertificateProfile")
            if profile_id is None:
                return CertificatePayload(certificate=None, user_errors=not_found("profileId", "Certificate profile"))
        profile = ProfileInput(
            name=input.name, email=input.email, contact_name=input.contact_name, contact_email=input.contact_email,
            p_number=input.p_number, se_number=input.se_number,
        )
        purposes = [p.value for p in input.purposes] if input.purposes is not None else None
        ca = _ca(info)
        cert, errors = await in_unit_of_work(
            info,
            lambda uow: lifecycle.order_organisation_certificate(
                uow, ca, profile_id=profile_id, profile=profile, type_=input.type, purposes=purposes
            ),
        )
        return CertificatePayload(
            certificate=CertificateNode.of(cert, now_of(info)) if cert else None, user_errors=errors
        )

    @strawberry.mutation(
        permission_classes=requires(Action.RETRIEVE_ORGANISATION_CERTIFICATE),
        description="Issues an ordered organisation certificate from a CSR, or with a generated key in a PKCS#12.",
    )
    async def retrieve_organisation_certificate(
        self, info: Info, input: IssueCertificateInput
    ) -> IssueCertificatePayload:
        ca = _ca(info)
        return await _issuing_mutation(
            info, input.certificate_id,
            lambda uow, cid: lifecycle.retrieve_organisation_certificate(uow, ca, cid, input.csr, input.password),
        )

    @strawberry.mutation(
        permission_classes=requires(Action.RENEW_CERTIFICATE),
        description="A successor linked to the certificate: issued at once for an organisation certificate "
        "(CSR or password), ordered for the holder to issue for a user certificate.",
    )
    async def renew_certificate(self, info: Info, input: IssueCertificateInput) -> IssueCertificatePayload:
        ca = _ca(info)
        return await _issuing_mutation(
            info, input.certificate_id,
            lambda uow, cid: changes.renew_certificate(uow, ca, cid, input.csr, input.password),
        )

    @strawberry.mutation(permission_classes=requires(Action.REVOKE_CERTIFICATE))
    async def revoke_certificate(self, info: Info, input: RevokeCertificateInput) -> CertificatePayload:
        ca = _ca(info)
        return await _certificate_mutation(
            info, input.certificate_id, lambda uow, cid: changes.revoke_certificate(uow, ca, cid, input.reason)
        )

    @strawberry.mutation(
        permission_classes=requires(Action.REVOKE_OWN_CERTIFICATE),
        description="The holder blocks their own user certificate (anyone else's is NOT_FOUND). "
        "HOLDER_LEFT is the organisation's reason, not the holder's (INVALID_REASON).",
    )
    async def revoke_own_certificate(self, info: Info, input: RevokeCertificateInput) -> CertificatePayload:
        ca = _ca(info)
        return await _certificate_mutation(
            info, input.certificate_id, lambda uow, cid: changes.revoke_own_certificate(uow, ca, cid, input.reason)
        )

    @strawberry.mutation(
        permission_classes=requires(Action.DELETE_CERTIFICATE),
        description="Only before the certificate is issued (revoke an issued one).",
    )
    async def delete_certificate(self, info: Info, input: CertificateIdInput) -> DeleteCertificatePayload:
        certificate_id = _id(input.certificate_id)
        if certificate_id is None:
            return DeleteCertificatePayload(
                deleted_certificate_id=None, user_errors=not_found("certificateId", "Certificate")
            )
        cert, errors = await in_unit_of_work(info, lambda uow: changes.delete_certificate(uow, certificate_id))
        return DeleteCertificatePayload(
            deleted_certificate_id=to_global_id("Certificate", cert.id) if cert else None, user_errors=errors
        )

    @strawberry.mutation(permission_classes=requires(Action.UPDATE_CERTIFICATE_RIGHTS))
    async def update_certificate_rights(self, info: Info, input: UpdateCertificateRightsInput) -> CertificatePayload:
        return await _certificate_mutation(
            info, input.certificate_id,
            lambda uow, cid: changes.update_certificate_rights(
                uow, cid, input.system_rights, input.can_seal, input.allow_user_signing
            ),
        )
