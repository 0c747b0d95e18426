"""Unit tests of the certificate profile: what the domain's spec_for puts into a certificate (the
OCES3 subject) and the adapter's QC statements and policies, without a database. The certificates
the API issues are linted in tests/test_pkilint.py."""

from __future__ import annotations

import datetime as dt
import uuid

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyasn1.codec.der.decoder import decode as der_decode
from pyasn1.type import char, univ
from pyasn1_alt_modules import rfc3739

from app.adapters import pki_profile
from app.domain.certificates.model import (
    Certificate,
    CertificateKind,
    CertificatePurpose,
    CertificateSpec,
    CertificateStatus,
    CertificateType,
)
from app.domain.certificates.rules import spec_for
from app.domain.common.organisation import Organisation
from app.domain.users.model import Identification, User, UserStatus

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
ORG = Organisation(id=1, cvr="12345674", name="Eksempel ApS", is_public=False)


def person(*, anonymous: bool = False) -> User:
    return User(
        id=uuid.uuid4(), org_id=1, first_name="Anne Marie", last_name="Østergaard", email="anne@example.dk",
        phone=None, reference=None, identification=next(iter(Identification)), cpr_masked=None, date_of_birth=None,
        anonymous=anonymous, status=UserStatus.ACTIVE, p_number=None, se_number=None, can_sign=True,
        can_create_seal=False, created_at=NOW,
    )


def ordered(kind: CertificateKind, type_: CertificateType = CertificateType.STANDARD, **extra: object) -> Certificate:
    purposes = (CertificatePurpose.AUTHENTICATION, CertificatePurpose.SIGNING if kind is CertificateKind.USER
                else CertificatePurpose.SEAL)
    return Certificate(
        id=uuid.uuid4(), org_id=1, kind=kind, type=type_, status=CertificateStatus.ORDERED, purposes=purposes,
        name="Lønsystem", ordered_at=NOW, **extra,  # type: ignore[arg-type]
    )


NAMES = {NameOID.COUNTRY_NAME: "countryName", NameOID.ORGANIZATION_NAME: "organizationName",
         NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier", NameOID.GIVEN_NAME: "givenName",
         NameOID.SURNAME: "surname", NameOID.PSEUDONYM: "pseudonym", NameOID.COMMON_NAME: "commonName",
         NameOID.SERIAL_NUMBER: "serialNumber", NameOID.EMAIL_ADDRESS: "emailAddress"}


def attributes(spec: CertificateSpec) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for a in pki_profile.subject_of(spec):
        found.setdefault(NAMES.get(a.oid, a.oid.dotted_string), []).append(str(a.value))
    return found


def test_a_named_persons_subject_has_given_name_surname_and_the_employee_identifier() -> None:
    holder = person()
    spec = spec_for(ordered(CertificateKind.USER, user_id=holder.id, email=holder.email), ORG, NOW, holder=holder)
    assert (spec.given_name, spec.surname, spec.pseudonym) == ("Anne Marie", "Østergaard", None)
    assert attributes(spec) == {
        "countryName": ["DK"], "organizationName": ["Eksempel ApS"], "organizationIdentifier": ["NTRDK-12345674"],
        "givenName": ["Anne Marie"], "surname": ["Østergaard"], "commonName": ["Anne Marie Østergaard"],
        "serialNumber": [f"UI:DK-E:G:{holder.id}"], "emailAddress": ["anne@example.dk"],
    }


def test_an_anonymous_persons_subject_has_the_pseudonym_as_its_name_and_nothing_that_names_them() -> None:
    holder = person(anonymous=True)
    spec = spec_for(ordered(CertificateKind.USER, user_id=holder.id), ORG, NOW, holder=holder)
    assert attributes(spec) == {
        "countryName": ["DK"], "organizationName": ["Eksempel ApS"], "organizationIdentifier": ["NTRDK-12345674"],
        "pseudonym": [str(holder.id)], "commonName": [str(holder.id)], "serialNumber": [f"UI:DK-E:G:{holder.id}"],
    }
    assert "Anne" not in pki_profile.subject_of(spec).rfc4514_string()


def test_an_organisation_certificates_subject_has_the_organisation_identifier_and_no_person() -> None:
    profile = uuid.uuid4()
    spec = spec_for(ordered(CertificateKind.ORGANISATION, profile_id=profile), ORG, NOW)
    found = attributes(spec)
    assert found["serialNumber"] == [f"UI:DK-O:G:{profile}"] and found["commonName"] == ["Lønsystem"]
    assert found["organizationIdentifier"] == ["NTRDK-12345674"]
    assert not {"givenName", "surname", "pseudonym"} & set(found)


def test_a_long_name_is_cut_to_rfc_5280s_bounds_in_the_common_name_only() -> None:
    holder = person()
    holder.last_name = "Ø" * 80  # two bytes each in UTF-8
    spec = spec_for(ordered(CertificateKind.USER, user_id=holder.id), ORG, NOW, holder=holder)
    name = pki_profile.subject_of(spec)
    common_name = str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    assert common_name == "Anne Marie " + "Ø" * 26 and len(common_name.encode()) == 63
    assert name.get_attributes_for_oid(NameOID.SURNAME)[0].value == "Ø" * 80


def _statements(spec: CertificateSpec, base_url: str = "http://gateway.example.dk") -> dict[str, bytes | None]:
    extension = pki_profile.qc_statements_of(spec, base_url)
    assert extension is not None and extension.oid.dotted_string == "1.3.6.1.5.5.7.1.3"
    decoded, rest = der_decode(extension.value, asn1Spec=rfc3739.QCStatements())
    assert rest == b""
    return {str(s["statementId"]): s["statementInfo"].asOctets() if s["statementInfo"].isValue else None
            for s in decoded}


def test_qualified_certificates_get_qc_statements_that_pyasn1_decodes_and_standard_ones_none() -> None:
    holder = person()
    user = spec_for(ordered(CertificateKind.USER, CertificateType.QUALIFIED, user_id=holder.id), ORG, NOW, holder=holder)
    seal = spec_for(ordered(CertificateKind.ORGANISATION, CertificateType.QUALIFIED), ORG, NOW)
    for spec, qc_type in [(user, "0.4.0.1862.1.6.1"), (seal, "0.4.0.1862.1.6.2")]:
        statements = _statements(spec)
        assert list(statements) == ["0.4.0.1862.1.1", "0.4.0.1862.1.6", "0.4.0.1862.1.5"]  # no QcSSCD
        assert statements["0.4.0.1862.1.1"] is None
        types, _ = der_decode(statements["0.4.0.1862.1.6"] or b"")
        assert [str(t) for t in types] == [qc_type]
        locations, _ = der_decode(statements["0.4.0.1862.1.5"] or b"")
        [(url, language)] = [(location[0], location[1]) for location in locations]
        assert isinstance(url, char.IA5String) and isinstance(language, char.PrintableString)
        assert (str(url), str(language)) == ("https://gateway.example.dk/pki/pds-en.pdf", "en")
    standard = spec_for(ordered(CertificateKind.USER, user_id=holder.id), ORG, NOW, holder=holder)
    assert pki_profile.qc_statements_of(standard, "https://gateway.example.dk") is None


def test_qualified_certificates_name_qcp_n_or_qcp_l_after_our_qualified_policy() -> None:
    ours = x509.ObjectIdentifier("1.3.6.1.4.1.32473.1.1"), x509.ObjectIdentifier("1.3.6.1.4.1.32473.1.2")
    holder = person()
    cases = [
        (spec_for(ordered(CertificateKind.USER, user_id=holder.id), ORG, NOW, holder=holder), ["1.3.6.1.4.1.32473.1.1"]),
        (spec_for(ordered(CertificateKind.USER, CertificateType.QUALIFIED, user_id=holder.id), ORG, NOW, holder=holder),
         ["1.3.6.1.4.1.32473.1.2", "0.4.0.194112.1.0"]),
        (spec_for(ordered(CertificateKind.ORGANISATION, CertificateType.QUALIFIED), ORG, NOW),
         ["1.3.6.1.4.1.32473.1.2", "0.4.0.194112.1.1"]),
    ]
    for spec, expected in cases:
        assert [p.policy_identifier.dotted_string for p in pki_profile.policies_of(spec, *ours)] == expected


def test_the_der_encoder_agrees_with_pyasn1_on_long_lengths_and_large_arcs() -> None:
    oid = "1.3.6.1.4.1.32473.268435455.0.127.128"
    assert der_decode(pki_profile._oid(oid))[0] == univ.ObjectIdentifier(oid)
    content = pki_profile._tlv(0x16, b"x" * 300)  # a length in two bytes
    assert content[:4] == bytes([0x16, 0x82, 0x01, 0x2C])
    assert str(der_decode(pki_profile._sequence(content))[0][0]) == "x" * 300
