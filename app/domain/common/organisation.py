"""The organisation (the tenant), its units and its settings, which users, certificates,
settings and billing all read; and the authenticator kinds the settings allow."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Authenticator(enum.StrEnum):
    PRIVATE_MITID = "PRIVATE_MITID"
    MITID_APP = "MITID_APP"
    CODE_DISPLAY = "CODE_DISPLAY"
    AUDIO_CODE_READER = "AUDIO_CODE_READER"
    CHIP = "CHIP"
    SHARED_AUTHENTICATOR = "SHARED_AUTHENTICATOR"


SEPARATE_AUTHENTICATORS = frozenset(
    {Authenticator.MITID_APP, Authenticator.CODE_DISPLAY, Authenticator.AUDIO_CODE_READER, Authenticator.CHIP}
)


@dataclass(slots=True)
class Organisation:
    id: int
    cvr: str
    name: str
    is_public: bool
    p_units: list[PUnit] = field(default_factory=list)
    se_numbers: list[SeNumber] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class PUnit:
    p_number: str
    name: str
    address: str | None = None


@dataclass(slots=True, frozen=True)
class SeNumber:
    se_number: str
    name: str


@dataclass(slots=True)
class OrganisationSettings:
    employees_may_request_user: bool = False
    anonymity_allowed: bool = False
    required_fields: list[str] = field(default_factory=list)
    private_mitid_allowed: bool = True
    allowed_authenticators: list[str] = field(default_factory=lambda: sorted(SEPARATE_AUTHENTICATORS))
    user_certificates_allowed: bool = True
    organisation_certificates_allowed: bool = True
    qualified_certificates_allowed: bool = False
    default_p_number: str | None = None
    default_se_number: str | None = None

    def allows_authenticator(self, kind: Authenticator) -> bool:
        if kind is Authenticator.PRIVATE_MITID:
            return self.private_mitid_allowed
        return kind.value in self.allowed_authenticators

    @property
    def allows_signing(self) -> bool:
        return self.user_certificates_allowed or self.organisation_certificates_allowed
