"""Configuration from the environment; the defaults give a working local server."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"
DEV_DATA_KEY = "dev-only-data-key-change-me-in-production"
# Development only: without PKI_ROOT_KEY_FILE the gateway makes its root CA once into this file, one
# per PUBLIC_BASE_URL as the root names its CRL's URL (certificate and PKCS#8 key encrypted with this
# published passphrase); production refuses both.
DEV_PKI_ROOT_FILE = "var/pki/dev-root-{address}.pem"
DEV_PKI_ROOT_PASSPHRASE = "dev-only-pki-root-passphrase-change-me"

# The base of the certificate policy identifiers (standard: <base>.1, qualified: <base>.2). The
# default is under IANA enterprise number 32473, which RFC 5612 reserves for documentation and
# examples: it asserts nobody's real policy (a made-up arc under someone else's enterprise number
# would) and says plainly "not a registered policy". The example arc 2.999 of ITU-T X.660 was the
# default before, but pkilint's DER decoder refuses second arcs from 40 on under 2, and the
# UUID arc 2.25 has 128-bit arcs that break relying parties (Go's parser, pkilint). A deployment
# with its own IANA enterprise number sets PKI_POLICY_OID=1.3.6.1.4.1.<PEN>.<…>.
DEFAULT_PKI_POLICY_OID = "1.3.6.1.4.1.32473.1"
# RFC 5280 4.2.1.4: relying parties must handle arcs below 2^28; above that they may (and do) fail.
MAX_OID_ARC = 2**28
_OID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+")


COMPILED_MODES = ("on", "off", "verify")


def _compiled_mode(value: str | None) -> str:
    mode = (value or "on").strip().lower()
    if mode not in COMPILED_MODES:
        raise ValueError(f"COMPILED_OPERATIONS must be one of {', '.join(COMPILED_MODES)}, not {value!r}")
    return mode


PERSISTED_MODES = ("open", "allow-list")


def _persisted_mode(value: str | None) -> str:
    mode = (value or "open").strip().lower()
    if mode not in PERSISTED_MODES:
        raise ValueError(f"PERSISTED_DOCUMENTS must be one of {', '.join(PERSISTED_MODES)}, not {value!r}")
    return mode


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_public_key_file: str | None = None
    jwt_jwks_file: str | None = None
    jwt_issuer: str = "mitid-gateway-dev"
    jwt_audience: str = "mitid-gateway"
    jwt_ttl_seconds: int = 8 * 3600
    jwt_max_lifetime_seconds: int = 24 * 3600
    ws_recheck_seconds: float = 30.0
    data_key: str = DEV_DATA_KEY
    pki_key: str | None = None
    smtp_url: str | None = None
    mail_dir: str = "var/mail"
    mail_from: str = "MitID Erhverv <no-reply@mitid-erhverv.local>"
    public_base_url: str = "http://127.0.0.1:8000"
    # Where relying parties fetch what certificates name (CRLs, CA certificates, OCSP): plain http is
    # the norm there (RFC 5280 4.2.1.13, ETSI EN 319 412-2 GEN-4.3.11-4; the objects are signed) and
    # avoids a TLS check that would itself need revocation data. Default: PUBLIC_BASE_URL.
    pki_publication_base_url: str | None = None
    outbox_interval_seconds: float = 2.0
    outbox_retry_base_seconds: float = 5.0
    scheduler_interval_seconds: float = 30.0
    background_tasks: bool = True
    graphiql: bool = True
    graphiql_assets: str = "var/graphiql/node_modules"  # `make graphiql-assets` installs them there
    upload_dir: str = "var/uploads"
    import_max_bytes: int = 50 * 1024 * 1024
    import_max_rows: int = 200_000
    bulk_poll_seconds: float = 2.0
    # Webhooks and the change feed (issue 17). Private/loopback endpoint addresses (and plain http)
    # only with WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1: development and tests.
    webhook_allow_private_addresses: bool = False
    webhook_interval_seconds: float = 1.0
    webhook_timeout_seconds: float = 5.0
    webhook_retry_base_seconds: float = 5.0
    webhook_max_attempts: int = 8
    webhook_disable_after_failures: int = 20
    change_feed_retention_days: int = 30
    bulk_lease_seconds: float = 1800.0
    max_query_depth: int = 15
    max_query_aliases: int = 30
    max_query_tokens: int = 5000
    max_query_cost: int = 25_000
    cost_budget_per_minute: int = 100_000
    anonymous_cost_budget_per_minute: int = 100_000
    introspection: bool = True
    # Compiled operations (issue 18): "on" runs a query the plan cache covers through its plan,
    # "off" only the general executor, "verify" both, comparing (tests: every query of the suite).
    compiled_operations: str = "on"
    # Persisted documents (issue 18): "open" runs any document and honours Apollo's automatic persisted
    # queries (APQ: a per-process LRU of PERSISTED_QUERY_CACHE_SIZE documents); "allow-list" runs only the
    # documents of PERSISTED_DOCUMENTS_FILE (an Apollo persisted-query manifest or a {hash: document} map).
    persisted_documents: str = "open"
    persisted_documents_file: str | None = None
    persisted_query_cache_size: int = 1000
    # The console's build (`make console-assets`); its persisted-documents.json is registered too.
    console_assets: str = "var/console"
    external_user_handle_seconds: int = 15 * 60
    # GATEWAY_ENV=production: start only with real secrets and a public address (production_problems).
    production: bool = False
    pki_policy_oid: str = DEFAULT_PKI_POLICY_OID
    # The root CA lives outside the database: PEM files (the key PKCS#8, encrypted with the passphrase);
    # the certificate may be in the key's file. Unset in development: DEV_PKI_ROOT_FILE, made on first use.
    pki_root_key_file: str | None = None
    pki_root_cert_file: str | None = None
    pki_root_key_passphrase: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_policy_oid(self.pki_policy_oid)  # a bad one stops every entrypoint at start-up
        if self.persisted_documents == "allow-list" and not self.persisted_documents_file:
            raise ValueError("PERSISTED_DOCUMENTS=allow-list needs PERSISTED_DOCUMENTS_FILE (the registered documents)")
        if self.persisted_query_cache_size < 0:
            raise ValueError("PERSISTED_QUERY_CACHE_SIZE must be 0 (automatic persisted queries off) or more")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        e = dict(os.environ if env is None else env)
        algs = tuple(a.strip() for a in e.get("JWT_ALGORITHMS", "").split(",") if a.strip())
        values: dict[str, object] = {
            "database_url": e.get("DATABASE_URL") or cls.database_url,
            "jwt_secret": e.get("JWT_SECRET") or DEV_JWT_SECRET,
            "jwt_algorithms": algs or ("HS256",),
            "jwt_public_key_file": e.get("JWT_PUBLIC_KEY_FILE") or None,
            "jwt_jwks_file": e.get("JWT_JWKS_FILE") or None,
            "jwt_issuer": e.get("JWT_ISSUER") or cls.jwt_issuer,
            "jwt_audience": e.get("JWT_AUDIENCE") or cls.jwt_audience,
            "jwt_ttl_seconds": int(e.get("JWT_TTL_SECONDS") or cls.jwt_ttl_seconds),
            "jwt_max_lifetime_seconds": int(e.get("JWT_MAX_LIFETIME_SECONDS") or cls.jwt_max_lifetime_seconds),
            "ws_recheck_seconds": float(e.get("WS_RECHECK_SECONDS") or cls.ws_recheck_seconds),
            "data_key": e.get("DATA_KEY") or DEV_DATA_KEY,
            "pki_key": e.get("PKI_KEY") or None,
            "smtp_url": e.get("SMTP_URL") or None,
            "mail_dir": e.get("MAIL_DIR") or cls.mail_dir,
            "mail_from": e.get("MAIL_FROM") or cls.mail_from,
            "public_base_url": (e.get("PUBLIC_BASE_URL") or cls.public_base_url).rstrip("/"),
            "pki_publication_base_url": (e.get("PKI_PUBLICATION_BASE_URL") or "").rstrip("/") or None,
            "outbox_interval_seconds": float(e.get("OUTBOX_INTERVAL_SECONDS") or cls.outbox_interval_seconds),
            "outbox_retry_base_seconds": float(
                e.get("OUTBOX_RETRY_BASE_SECONDS") or cls.outbox_retry_base_seconds
            ),
            "scheduler_interval_seconds": float(
                e.get("SCHEDULER_INTERVAL_SECONDS") or cls.scheduler_interval_seconds
            ),
            "background_tasks": _bool(e.get("BACKGROUND_TASKS"), True),
            "graphiql": _bool(e.get("GRAPHIQL"), True),
            "graphiql_assets": e.get("GRAPHIQL_ASSETS") or cls.graphiql_assets,
            "upload_dir": e.get("UPLOAD_DIR") or cls.upload_dir,
            "import_max_bytes": int(e.get("IMPORT_MAX_BYTES") or cls.import_max_bytes),
            "import_max_rows": int(e.get("IMPORT_MAX_ROWS") or cls.import_max_rows),
            "bulk_poll_seconds": float(e.get("BULK_POLL_SECONDS") or cls.bulk_poll_seconds),
            "webhook_allow_private_addresses": _bool(e.get("WEBHOOK_ALLOW_PRIVATE_ADDRESSES"), False),
            "webhook_interval_seconds": float(e.get("WEBHOOK_INTERVAL_SECONDS") or cls.webhook_interval_seconds),
            "webhook_timeout_seconds": float(e.get("WEBHOOK_TIMEOUT_SECONDS") or cls.webhook_timeout_seconds),
            "webhook_retry_base_seconds": float(e.get("WEBHOOK_RETRY_BASE_SECONDS") or cls.webhook_retry_base_seconds),
            "webhook_max_attempts": int(e.get("WEBHOOK_MAX_ATTEMPTS") or cls.webhook_max_attempts),
            "webhook_disable_after_failures": int(
                e.get("WEBHOOK_DISABLE_AFTER_FAILURES") or cls.webhook_disable_after_failures
            ),
            "change_feed_retention_days": int(e.get("CHANGE_FEED_RETENTION_DAYS") or cls.change_feed_retention_days),
            "bulk_lease_seconds": float(e.get("BULK_LEASE_SECONDS") or cls.bulk_lease_seconds),
            "max_query_depth": int(e.get("GRAPHQL_MAX_DEPTH") or cls.max_query_depth),
            "max_query_aliases": int(e.get("GRAPHQL_MAX_ALIASES") or cls.max_query_aliases),
            "max_query_tokens": int(e.get("GRAPHQL_MAX_TOKENS") or cls.max_query_tokens),
            "max_query_cost": int(e.get("GRAPHQL_MAX_COST") or cls.max_query_cost),
            "cost_budget_per_minute": int(e.get("GRAPHQL_COST_BUDGET_PER_MINUTE") or cls.cost_budget_per_minute),
            "anonymous_cost_budget_per_minute": int(
                e.get("GRAPHQL_ANONYMOUS_COST_BUDGET_PER_MINUTE") or cls.anonymous_cost_budget_per_minute
            ),
            "introspection": _bool(e.get("GRAPHQL_INTROSPECTION"), True),
            "compiled_operations": _compiled_mode(e.get("COMPILED_OPERATIONS")),
            "persisted_documents": _persisted_mode(e.get("PERSISTED_DOCUMENTS")),
            "persisted_documents_file": e.get("PERSISTED_DOCUMENTS_FILE") or None,
            "persisted_query_cache_size": int(e.get("PERSISTED_QUERY_CACHE_SIZE") or cls.persisted_query_cache_size),
            "console_assets": e.get("CONSOLE_ASSETS") or cls.console_assets,
            "external_user_handle_seconds": int(
                e.get("EXTERNAL_USER_HANDLE_SECONDS") or cls.external_user_handle_seconds
            ),
            "production": _environment(e.get("GATEWAY_ENV")) == "production",
            "pki_policy_oid": (e.get("PKI_POLICY_OID") or cls.pki_policy_oid).strip(),
            "pki_root_key_file": e.get("PKI_ROOT_KEY_FILE") or None,
            "pki_root_cert_file": e.get("PKI_ROOT_CERT_FILE") or None,
            "pki_root_key_passphrase": e.get("PKI_ROOT_KEY_PASSPHRASE") or None,
        }
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.database_url.startswith("sqlite") and ":///" in settings.database_url:
            path = settings.database_url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        return settings

    @property
    def pki_base_url(self) -> str:
        """The address certificates name for their CRL, CA certificate and OCSP responder."""
        return self.pki_publication_base_url or self.public_base_url

    def production_problems(self) -> list[str]:
        """What makes these settings unfit for production: the development defaults (public in this
        repository, so database access alone would forge tokens and certificates) and a loopback
        address, which every certificate would carry for years. Empty outside production."""
        if not self.production:
            return []
        problems: list[str] = []
        signs_itself = self.jwt_public_key_file is None and self.jwt_jwks_file is None
        if signs_itself and (self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret.encode()) < MIN_SECRET):
            problems.append(f"JWT_SECRET is the development default or shorter than {MIN_SECRET} bytes "
                            "(or set JWT_PUBLIC_KEY_FILE / JWT_JWKS_FILE for your identity provider's keys)")
        if self.data_key == DEV_DATA_KEY or len(self.data_key.encode()) < MIN_SECRET:
            problems.append(f"DATA_KEY (CPR encryption and lookup) is the development default or shorter than "
                            f"{MIN_SECRET} bytes")
        if self.pki_key is None or self.pki_key in (self.data_key, DEV_DATA_KEY) or len(self.pki_key.encode()) < MIN_SECRET:
            problems.append(f"PKI_KEY (the CA key's passphrase) must be set, at least {MIN_SECRET} bytes, and not "
                            "equal to DATA_KEY")
        if self.pki_root_key_file is None:
            problems.append("PKI_ROOT_KEY_FILE (the root CA's encrypted PKCS#8 key, PEM, kept outside the database; "
                            "the certificate in it or in PKI_ROOT_CERT_FILE) must be set")
        else:
            for name, path in (("PKI_ROOT_KEY_FILE", self.pki_root_key_file), ("PKI_ROOT_CERT_FILE", self.pki_root_cert_file)):
                if path is not None and not os.path.isfile(path):
                    problems.append(f"{name} ({path}) is not a readable file")
        passphrase = self.pki_root_key_passphrase
        if passphrase is None or passphrase == DEV_PKI_ROOT_PASSPHRASE or len(passphrase.encode()) < MIN_SECRET:
            problems.append(f"PKI_ROOT_KEY_PASSPHRASE (the root CA key's passphrase) must be set, at least {MIN_SECRET} "
                            "bytes, and not the development default")
        url = urlparse(self.public_base_url)
        host = (url.hostname or "").lower()
        if url.scheme != "https" or not host or host == "localhost" or host.endswith(".localhost") or _is_local(host):
            problems.append(f"PUBLIC_BASE_URL ({self.public_base_url}) must be the public https:// address: it is "
                            "written into mails and into every certificate (CRL and CA links)")
        if self.pki_publication_base_url is not None:
            pub = urlparse(self.pki_publication_base_url)
            host = (pub.hostname or "").lower()
            if pub.scheme not in ("http", "https") or not host or host == "localhost" or host.endswith(".localhost") \
                    or _is_local(host) or pub.path not in ("", "/"):
                problems.append(f"PKI_PUBLICATION_BASE_URL ({self.pki_publication_base_url}) must be a public http:// or "
                                "https:// address without a path: certificates name it for years")
        if self.webhook_allow_private_addresses:
            problems.append("WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1 lets webhook endpoints reach loopback and private "
                            "addresses (server-side request forgery): development and tests only")
        return problems


MIN_SECRET = 32


class UnsafeSettings(Exception):
    """Settings production must not start with; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("GATEWAY_ENV=production refuses to start:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def refuse_unsafe(settings: Settings) -> None:
    if problems := settings.production_problems():
        raise UnsafeSettings(problems)


def _environment(value: str | None) -> str:
    env = (value or "development").strip().lower()
    if env not in ("development", "production"):
        raise ValueError(f"GATEWAY_ENV must be development or production, not {value!r}")
    return env


def _is_local(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def check_policy_oid(value: str) -> None:
    """A usable base for policy identifiers, or ValueError saying what is wrong with PKI_POLICY_OID."""
    problem = None
    if not _OID.fullmatch(value):
        problem = "it must be dotted decimal arcs without leading zeros, at least two (e.g. 1.3.6.1.4.1.32473.1)"
    else:
        arcs = [int(a) for a in value.split(".")]
        if arcs[0] > 2:
            problem = "the first arc must be 0, 1 or 2 (ITU-T X.660)"
        elif arcs[0] < 2 and arcs[1] >= 40:
            problem = "under 0 and 1 the second arc must be below 40 (ITU-T X.660)"
        elif arcs[1] >= 40:
            # X.660 allows 2.40 and up (2.999 is its example arc), but pkilint's DER decoder refuses them.
            problem = "under 2 the second arc must be below 40 too, or pkilint rejects the certificates"
        elif big := [a for a in arcs if a >= MAX_OID_ARC]:
            problem = f"arc {big[0]} is not below 2^28, the largest RFC 5280 promises relying parties handle"
    if problem:
        raise ValueError(f"PKI_POLICY_OID={value!r} cannot be a certificate policy identifier base: {problem}")
