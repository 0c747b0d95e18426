"""Sending webhooks: the Standard Webhooks format (webhook-id, webhook-timestamp, webhook-signature
= HMAC-SHA256 over id.timestamp.body, by the `standardwebhooks` package), to an address checked
against server-side request forgery at registration and at every delivery: the host is resolved,
every address must be public (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1), and the connection goes to
the address that was checked (a name that resolves elsewhere a moment later is not followed; TLS
still verifies the certificate against the name). Redirects are not followed; at most a few
hundred bytes of a response are read."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks import Webhook

from app.config import Settings
from app.domain.common.errors import DomainError
from app.domain.webhooks.rules import Destination, parse_destination, refused_address

RESPONSE_BYTES_KEPT = 200
USER_AGENT = "mitid-gateway-webhooks/1"


class SecretBox:
    """Signing secrets at rest: AES-GCM under a key derived from DATA_KEY, bound to the endpoint."""

    def __init__(self, settings: Settings) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"mitid-gateway webhook signing secret").derive(settings.data_key.encode())
        self._aead = AESGCM(key)

    def seal(self, endpoint_id: uuid.UUID, secret: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), endpoint_id.bytes)

    def open(self, endpoint_id: uuid.UUID, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], endpoint_id.bytes).decode()


async def checked_address(dest: Destination, *, allow_private: bool) -> str:
    """The address to connect to: the first the host resolves to, all of them public. DomainError
    (field `url`) when the name does not resolve or any address is refused."""
    try:
        ip = ipaddress.ip_address(dest.host)
        addresses = [ip]
    except ValueError:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(dest.host, dest.port, type=socket.SOCK_STREAM), timeout=5
            )
        except (OSError, TimeoutError) as exc:
            raise DomainError("HOST_NOT_FOUND", "The URL's host does not resolve", ["url"]) from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise DomainError("HOST_NOT_FOUND", "The URL's host does not resolve", ["url"])
    if not allow_private and any(refused_address(a) for a in addresses):
        raise DomainError("ADDRESS_NOT_ALLOWED", "The URL points to a private or loopback address", ["url"])
    return str(addresses[0])


async def check_endpoint_url(url: str, *, allow_private: bool) -> None:
    """At registration: the URL's form (domain rules), then its addresses."""
    await checked_address(parse_destination(url, allow_private=allow_private), allow_private=allow_private)


def payload(event_type: str, occurred_at: dt.datetime, data: dict[str, Any]) -> str:
    """{type, timestamp, data}: ids and the kind of change only, never a name or a CPR number."""
    return json.dumps({"type": event_type, "timestamp": occurred_at.astimezone(dt.UTC).isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True)


@dataclass(slots=True, frozen=True)
class Outcome:
    ok: bool
    code: int | None
    error: str  # a short reason, never the response's headers; at most RESPONSE_BYTES_KEPT of its body


async def send(
    client: httpx.AsyncClient, url: str, secret: str, message_id: str, body: str, now: dt.datetime, *,
    allow_private: bool, timeout: float,
) -> Outcome:
    try:
        dest = parse_destination(url, allow_private=allow_private)
        address = await checked_address(dest, allow_private=allow_private)
    except DomainError as exc:
        return Outcome(False, None, f"{exc.code}: {exc.message}")
    signature = Webhook(secret).sign(message_id, now, body)
    host_header = dest.host if ":" not in dest.host else f"[{dest.host}]"
    default_port = 443 if dest.scheme == "https" else 80
    if dest.port != default_port:
        host_header += f":{dest.port}"
    netloc = f"[{address}]" if ":" in address else address
    headers = {
        "Host": host_header, "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
    }
    request = client.build_request(
        "POST", f"{dest.scheme}://{netloc}:{dest.port}{dest.target}", content=body.encode(), headers=headers,
        extensions={"sni_hostname": dest.host, "timeout": httpx.Timeout(timeout).as_dict()},
    )
    try:
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            kept = b""
            async for chunk in response.aiter_raw():
                kept += chunk
                if len(kept) >= RESPONSE_BYTES_KEPT:
                    break
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        return Outcome(False, None, "timeout")
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {str(exc)[:RESPONSE_BYTES_KEPT]}")
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code, "")
    text = kept[:RESPONSE_BYTES_KEPT].decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in text)
    return Outcome(False, response.status_code, f"HTTP {response.status_code}: {text}".strip())
