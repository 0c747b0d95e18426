"""Every table of the gateway, one block per area (the repositories live in the area modules)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)

from app.persistence.base import UUID, JSONType, UTCDateTime, metadata

# BigInteger ids that still autoincrement on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# --- organisations -------------------------------------------------------------------------------
organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cvr", String(8), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("is_public", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
)

p_units = Table(
    "p_units",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("p_number", String(10), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("address", String(300)),
)

se_numbers = Table(
    "se_numbers",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("se_number", String(8), primary_key=True),
    Column("name", String(200), nullable=False),
)

# --- settings ------------------------------------------------------------------------------------
organisation_settings = Table(
    "organisation_settings",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("employees_may_request_user", Boolean, nullable=False, server_default="0"),
    Column("anonymity_allowed", Boolean, nullable=False, server_default="0"),
    Column("required_fields", JSONType, nullable=False),
    Column("private_mitid_allowed", Boolean, nullable=False, server_default="1"),
    Column("allowed_authenticators", JSONType, nullable=False),
    Column("user_certificates_allowed", Boolean, nullable=False, server_default="1"),
    Column("organisation_certificates_allowed", Boolean, nullable=False, server_default="1"),
    Column("qualified_certificates_allowed", Boolean, nullable=False, server_default="0"),
    Column("default_p_number", String(10)),
    Column("default_se_number", String(8)),
)

# --- users ---------------------------------------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("email", String(254), nullable=False),
    Column("email_lower", String(254), nullable=False),
    Column("phone", String(20)),
    Column("reference", String(200)),
    Column("identification", String(20), nullable=False),
    Column("cpr_hash", String(64)),
    Column("cpr_encrypted", LargeBinary),
    Column("cpr_masked", String(11)),
    Column("date_of_birth", Date),
    Column("anonymous", Boolean, nullable=False, server_default="0"),
    Column("status", String(20), nullable=False),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("can_sign", Boolean, nullable=False, server_default="0"),
    Column("can_create_seal", Boolean, nullable=False, server_default="0"),
    Column("deactivated_from", UTCDateTime),
    Column("deactivated_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("activated_at", UTCDateTime),
    Column("last_login_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
    Column("activation_token_hash", String(64)),
    Column("activation_code_hash", String(200)),
    Column("activation_expires_at", UTCDateTime),
    Column("notification_channel", String(10), nullable=False, server_default="BOTH"),
    Column("version", Integer, nullable=False, server_default="1"),
    Index("ix_users_org_status", "org_id", "status"),
    Index("ix_users_org_name", "org_id", "last_name", "first_name"),
    Index(
        "uq_users_org_email_live",
        "org_id",
        "email_lower",
        unique=True,
        sqlite_where=text("status != 'DELETED'"),
        postgresql_where=text("status != 'DELETED'"),
    ),
    Index(
        "uq_users_org_cpr_live",
        "org_id",
        "cpr_hash",
        unique=True,
        sqlite_where=text("status != 'DELETED' AND cpr_hash IS NOT NULL"),
        postgresql_where=text("status != 'DELETED' AND cpr_hash IS NOT NULL"),
    ),
    Index("ix_users_activation_token", "activation_token_hash"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(40), primary_key=True),
)

user_authenticators = Table(
    "user_authenticators",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(30), primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
)

user_rights = Table(
    "user_rights",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(64), primary_key=True),
)

anonymity_requests = Table(
    "anonymity_requests",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(500)),
    Column("status", String(20), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", UUID),
    Column("new_user_id", UUID),
    Index("ix_anonymity_requests_org_status", "org_id", "status"),
)

# --- activity (history) --------------------------------------------------------------------------
activities = Table(
    "activities",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor_id", UUID),
    Column("actor_name", String(200)),
    Column("type", String(50), nullable=False),
    Column("target_user_id", UUID),
    Column("target_group_id", UUID),
    Column("target_name", String(200)),
    Column("summary", String(500), nullable=False),
    Column("details", JSONType, nullable=False),
    Index("ix_activities_org_id", "org_id", "id"),
    Index("ix_activities_org_target", "org_id", "target_user_id", "id"),
    Index("ix_activities_org_type", "org_id", "type", "id"),
    Index("ix_activities_org_group", "org_id", "target_group_id", "id"),
)

# --- notifications -------------------------------------------------------------------------------
notifications = Table(
    "notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("recipient_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    Index("ix_notifications_recipient", "recipient_id", "id"),
)

# --- outbox (mail) -------------------------------------------------------------------------------
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("last_error", String(500)),
    Index("ix_outbox_pending", "sent_at", "next_attempt_at"),
)

# --- bulk (CSV import jobs) ----------------------------------------------------------------------
bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("created_by", UUID, nullable=False),
    Column("operation", String(10), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("file_name", String(255)),
    Column("file_path", String(500)),
    Column("file_size", BigInteger, nullable=False, server_default="0"),
    Column("total", Integer),
    Column("processed", Integer, nullable=False, server_default="0"),
    Column("error_count", Integer, nullable=False, server_default="0"),
    Column("row_errors", JSONType, nullable=False),
    Column("result", JSONType),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("claimed_until", UTCDateTime),
    Index("ix_bulk_jobs_org_created", "org_id", "created_at"),
    Index("ix_bulk_jobs_status", "status"),
)

# --- rights catalogue ----------------------------------------------------------------------------
rights_catalogue = Table(
    "rights_catalogue",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", String(1000), nullable=False),
    Column("kind", String(10), nullable=False),  # INTERNAL / EXTERNAL
    Column("service", String(200), nullable=False),
)

# --- user groups ---------------------------------------------------------------------------------
user_groups = Table(
    "user_groups",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),  # SYSTEM / CUSTOM
    Column("name", String(200), nullable=False),
    Column("name_lower", String(200), nullable=False),
    Column("description", String(1000)),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Index("uq_user_groups_org_name", "org_id", "name_lower", unique=True),
    Index("ix_user_groups_org_kind", "org_id", "kind"),
)

user_group_rights = Table(
    "user_group_rights",
    metadata,
    Column("group_id", ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("code", ForeignKey("rights_catalogue.code"), primary_key=True),
)

user_group_members = Table(
    "user_group_members",
    metadata,
    Column("group_id", ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("member_org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("external", Boolean, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("added_by", UUID),
    Index("ix_user_group_members_user", "user_id"),
    Index("ix_user_group_members_member_org", "member_org_id", "external"),
)

# --- certificates --------------------------------------------------------------------------------
# The issuing CA: one row (id 1) for the installation; the key is PKCS#8 encrypted with PKI_KEY.
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

# --- billing -------------------------------------------------------------------------------------
billing_accounts = Table(
    "billing_accounts",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("method", String(20), nullable=False),
    Column("ean", String(13)),
    Column("ean_name", String(200)),
    Column("attention", String(200)),
    Column("po_reference", String(100)),
    Column("email", String(254)),
)

# --- powers of attorney --------------------------------------------------------------------------
powers_of_attorney = Table(
    "powers_of_attorney",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("granting_org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("receiving_cvr", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("valid_from", Date),
    Column("valid_until", Date),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Index("ix_powers_of_attorney_granting", "granting_org_id", "created_at"),
    Index("ix_powers_of_attorney_receiving", "receiving_cvr", "created_at"),
)

power_of_attorney_rights = Table(
    "power_of_attorney_rights",
    metadata,
    Column("poa_id", ForeignKey("powers_of_attorney.id", ondelete="CASCADE"), primary_key=True),
    Column("code", ForeignKey("rights_catalogue.code"), primary_key=True),
)
