"""Rules for webhook endpoints and deliveries: pure functions, no network, no database."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import ipaddress
import random
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.domain.common.errors import DomainError
from app.domain.common.validation import has_control_characters

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
MAX_ENDPOINTS_PER_ORGANISATION = 10
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks asks for 24 to 64 bytes


class EndpointStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"  # after repeated failure; the organisation's administrators were told


class DeliveryStatus(enum.StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # given up after the last attempt


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 5.0
    max_seconds: float = 3600.0
    disable_after: int = 20  # consecutive failed attempts of an endpoint


def new_secret() -> str:
    """`whsec_` + base64 of random bytes: the Standard Webhooks signing secret format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def backoff(attempts: int, policy: RetryPolicy, rnd: random.Random | None = None) -> dt.timedelta:
    """Exponential with full jitter over the upper half (so retries of many endpoints spread out
    but never come sooner than half the step)."""
    step = min(policy.max_seconds, policy.base_seconds * 2 ** min(max(attempts - 1, 0), 20))
    jitter = (rnd or random).uniform(0.5, 1.0)
    return dt.timedelta(seconds=step * jitter)


def refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, multicast, reserved, shared (CGNAT), unspecified, and the
    IPv6 forms that embed one (mapped, 6to4, Teredo): anything not globally routable."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (ip.sixtofour if ip.sixtofour else None)
        if embedded is not None and refused_address(embedded):
            return True
        if ip.teredo is not None:
            return True
    return (not ip.is_global) or ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local


@dataclass(frozen=True, slots=True)
class Destination:
    scheme: str
    host: str  # lower-case; an IP literal without brackets
    port: int
    target: str  # path and query as sent


def parse_destination(url: str, *, allow_private: bool) -> Destination:
    """An endpoint URL: https (http only where private addresses are allowed, for development and
    tests), a host, no credentials or fragment. An IP literal is checked here; a name is resolved
    and checked by the sender, at registration and at every delivery."""
    field = ["url"]
    if len(url) > MAX_URL_LENGTH or " " in url or has_control_characters(url):
        raise DomainError("INVALID_URL", "The URL is too long or holds spaces or control characters", field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DomainError("INVALID_URL", "Not a valid URL", field) from exc
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_private):
        raise DomainError("HTTPS_REQUIRED", "Webhook endpoints must use https", field)
    if not parts.hostname or parts.username is not None or parts.password is not None or parts.fragment:
        raise DomainError("INVALID_URL", "The URL needs a host and may hold no credentials or fragment", field)
    host = parts.hostname.lower()
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and refused_address(ip) and not allow_private:
        raise DomainError("ADDRESS_NOT_ALLOWED", "The URL points to a private or loopback address", field)
    if ip is None and (host == "localhost" or host.endswith(".localhost")) and not allow_private:
        raise DomainError("ADDRESS_NOT_ALLOWED", "The URL points to a private or loopback address", field)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme, host, port or (443 if scheme == "https" else 80), target)


def check_description(description: str | None) -> str:
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise DomainError("TOO_LONG", f"At most {MAX_DESCRIPTION_LENGTH} characters", ["description"])
    if has_control_characters(text):
        raise DomainError("INVALID_CHARACTERS", "One line without control characters", ["description"])
    return text
