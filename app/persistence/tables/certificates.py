"""The certificate authority, certificate profiles, certificates and their system rights."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from app.persistence.base import UUID, UTCDateTime, metadata, updated_at_column

# The issuing CA: one row (id 1) for the installation; the key is PKCS#8 encrypted with PKI_KEY. The
# root's certificate and CRL as published (its key is not here), the OCSP responder's certificate and
# key (encrypted like the CA's), and a pre-hierarchy self-signed CA certificate if there was one.
certificate_authority = Table(
    "certificate_authority",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("certificate_pem", Text, nullable=False),
    Column("encrypted_key_pem", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("crl_number", BigInteger, nullable=False, server_default="0"),
    Column("crl_pem", Text),
    Column("crl_updated_at", UTCDateTime),
    Column("crl_next_update", UTCDateTime),
    Column("root_certificate_pem", Text),
    Column("root_crl_pem", Text),
    Column("root_crl_next_update", UTCDateTime),
    Column("responder_certificate_pem", Text),
    Column("responder_key_pem", Text),
    Column("responder_not_after", UTCDateTime),
    Column("legacy_certificate_pem", Text),
)

certificate_profiles = Table(
    "certificate_profiles",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_lower", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("contact_name", String(200), nullable=False),
    Column("contact_email", String(254), nullable=False),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", UUID),
    Index("uq_certificate_profiles_org_name", "org_id", "name_lower", unique=True),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),  # USER / ORGANISATION
    Column("type", String(20), nullable=False),  # STANDARD / QUALIFIED
    Column("status", String(20), nullable=False),  # ORDERED / ISSUED / REVOKED / CANCELLED (EXPIRED is derived)
    Column("issuance", String(10)),  # SOFTWARE / HARDWARE
    Column("purposes", String(100), nullable=False),  # comma-separated
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE")),
    Column("profile_id", ForeignKey("certificate_profiles.id", ondelete="SET NULL")),
    Column("name", String(200), nullable=False),
    Column("name_lower", String(200), nullable=False),
    Column("email", String(254)),
    Column("contact_name", String(200)),
    Column("contact_email", String(254)),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("serial_number", String(40)),
    Column("subject", String(1000)),
    Column("not_before", UTCDateTime),
    Column("not_after", UTCDateTime),
    Column("certificate_pem", Text),
    Column("fingerprint_sha256", String(64)),
    Column("can_seal", Boolean, nullable=False, server_default="0"),
    Column("allow_user_signing", Boolean, nullable=False, server_default="0"),
    Column("ordered_at", UTCDateTime, nullable=False),
    Column("ordered_by", UUID),
    Column("issued_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("revocation_reason", String(40)),
    Column("revoked_by", UUID),
    Column("predecessor_id", UUID),
    Column("successor_id", UUID),
    updated_at_column(),
    Index("uq_certificates_serial_number", "serial_number", unique=True),
    Index("ix_certificates_org_ordered", "org_id", "ordered_at"),
    Index("ix_certificates_org_not_after", "org_id", "not_after"),
    Index("ix_certificates_org_name", "org_id", "name_lower"),
    Index("ix_certificates_org_status", "org_id", "status"),
    Index("ix_certificates_org_user", "org_id", "user_id"),
    Index("ix_certificates_revoked", "status", "revoked_at"),
)

certificate_system_rights = Table(
    "certificate_system_rights",
    metadata,
    Column("certificate_id", ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True),
    Column("code", ForeignKey("rights_catalogue.code"), primary_key=True),
)
