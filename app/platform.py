"""The domain's Platform port: clock, random secrets, hashing and encryption of sensitive data."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets

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
