"""The domain's Platform port: clock, random secrets, hashing and encryption of sensitive data."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.config import Settings

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _derive(master: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master.encode())


class SystemPlatform:
    def __init__(self, settings: Settings) -> None:
        self._base_url = settings.public_base_url
        self._cpr_hmac_key = _derive(settings.data_key, b"mitid-gateway cpr lookup")
        self._cpr_aead = AESGCM(_derive(settings.data_key, b"mitid-gateway cpr encryption"))
        self._handle_key = _derive(settings.data_key, b"mitid-gateway external user handle")
        self._handle_ttl = dt.timedelta(seconds=settings.external_user_handle_seconds)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def new_token(self) -> str:
        return secrets.token_urlsafe(32)

    def new_activation_code(self) -> str:
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        return f"{raw[:5]}-{raw[5:]}"

    def hash_token(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def hash_code(self, code: str) -> str:
        salt = os.urandom(16)
        digest = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(code.upper().encode())
        return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()

    def verify_code(self, code: str, hashed: str) -> bool:
        try:
            scheme, salt_b64, digest_b64 = hashed.split("$")
        except ValueError:
            return False
        if scheme != "scrypt":
            return False
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        candidate = hashlib.scrypt(code.upper().encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
        return hmac.compare_digest(candidate, digest)

    def hash_cpr(self, cpr10: str) -> str:
        return hmac.new(self._cpr_hmac_key, cpr10.encode(), hashlib.sha256).hexdigest()

    def encrypt_cpr(self, cpr10: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._cpr_aead.encrypt(nonce, cpr10.encode(), b"cpr")

    def decrypt_cpr(self, blob: bytes) -> str:
        return self._cpr_aead.decrypt(blob[:12], blob[12:], b"cpr").decode()

    def activation_link(self, token: str) -> str:
        return f"{self._base_url}/activate?token={token}"

    # --- external user handles ------------------------------------------------------------------
    # "<user uuid>.<expiry, unix seconds>.<HMAC-SHA256 over uuid, searching org and expiry>". The
    # organisation is bound by the MAC, not written into the handle: a handle verifies only for
    # the organisation that searched, and our internal organisation ids are not handed out.

    def _handle_mac(self, user: str, org_id: int, expires: str) -> str:
        message = f"external-user|{user}|{org_id}|{expires}".encode()
        digest = hmac.new(self._handle_key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign_external_user(self, user_id: uuid.UUID, org_id: int, now: dt.datetime) -> str:
        expires = str(int((now + self._handle_ttl).timestamp()))
        return f"{user_id}.{expires}.{self._handle_mac(str(user_id), org_id, expires)}"

    def verify_external_user(self, handle: str, org_id: int, now: dt.datetime) -> uuid.UUID | None:
        user, _, rest = handle.partition(".")
        expires, _, mac = rest.partition(".")
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12 and len(user) == 36):
            return None
        if not hmac.compare_digest(mac.encode(), self._handle_mac(user, org_id, expires).encode()):
            return None
        if now.timestamp() >= int(expires):
            return None
        return uuid.UUID(user)
