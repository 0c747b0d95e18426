"""The two tiers above the certificates we issue, built on `cryptography` (no hand-written ASN.1).

The root CA's key and certificate live outside the database, in PEM files named by PKI_ROOT_KEY_FILE
(PKCS#8, encrypted with PKI_ROOT_KEY_PASSPHRASE) and PKI_ROOT_CERT_FILE (may be the key's file). In
development, without those settings, a root is made once into DEV_PKI_ROOT_FILE, encrypted with the
published DEV_PKI_ROOT_PASSPHRASE, so `make run` needs no configuration; production refuses that.
The root signs only the issuing CA's certificate and its own (empty) CRL: nothing online needs its
key otherwise. The issuing CA (key in the database, as before) signs the end-entity certificates,
their CRL and the delegated OCSP responder's certificate (RFC 6960 4.2.2.2).

Root: pathLen 1, keyCertSign + cRLSign. Issuing CA: pathLen 0, keyCertSign + cRLSign, AIA caIssuers
to /pki/root.cer and a CRL distribution point at /pki/root-crl.crl. Responder: digitalSignature,
EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck, valid RESPONDER_VALIDITY, replaced RESPONDER_RENEWAL
before it expires."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from app.config import DEV_PKI_ROOT_FILE, DEV_PKI_ROOT_PASSPHRASE, Settings
from app.domain.certificates.rules import add_years

T = TypeVar("T", bound=x509.ExtensionType)
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

ORGANISATION = "MitID Erhverv Gateway"
ROOT_NAME = "MitID Erhverv Gateway Root CA"
ROOT_VALIDITY_YEARS = 25
ROOT_CRL_VALIDITY = dt.timedelta(days=365)  # the root revokes nothing online; re-signed a month before
ROOT_CRL_RENEWAL = dt.timedelta(days=30)
RESPONDER_NAME = "MitID Erhverv Gateway OCSP Responder"
RESPONDER_VALIDITY = dt.timedelta(days=30)
RESPONDER_RENEWAL = dt.timedelta(days=10)

ROOT_CERTIFICATE_PATH = "/pki/root.cer"
ROOT_CRL_PATH = "/pki/root-crl.crl"
OCSP_PATH = "/pki/ocsp"


class RootUnavailable(Exception):
    """The root CA's files are missing, unreadable, or the passphrase does not open the key."""


@dataclass(frozen=True, slots=True)
class Root:
    certificate: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True, slots=True)
class RootSource:
    """Where the root is: its key file, its certificate file (the key's by default) and the key's
    passphrase. `generate`: development only, make the root there if the file does not exist."""

    key_file: str
    passphrase: str
    certificate_file: str | None = None
    generate: str | None = None  # the PUBLIC_BASE_URL a development root is made for

    @classmethod
    def of(cls, settings: Settings) -> RootSource:
        if settings.pki_root_key_file is None and not settings.production:
            return cls.development(settings.pki_base_url, settings.pki_root_key_passphrase)

        return cls(settings.pki_root_key_file or "", settings.pki_root_key_passphrase or "", settings.pki_root_cert_file)

    @classmethod
    def development(cls, base_url: str, passphrase: str | None = None) -> RootSource:
        address = re.sub(r"[^A-Za-z0-9.-]+", "_", urlsplit(base_url).netloc or "local")
        return cls(DEV_PKI_ROOT_FILE.format(address=address), passphrase or DEV_PKI_ROOT_PASSPHRASE,
                   generate=base_url.rstrip("/"))

    def load(self, now: dt.datetime) -> Root:
        if self.generate is not None and not os.path.exists(self.key_file):
            write_root_file(self.key_file, self.passphrase, now, self.generate, development=True)
        try:
            key_pem = Path(self.key_file).read_bytes()
            cert_pem = Path(self.certificate_file).read_bytes() if self.certificate_file else key_pem
        except OSError as exc:
            raise RootUnavailable(f"the root CA's file cannot be read: {exc.strerror} ({exc.filename})") from exc
        try:
            key = serialization.load_pem_private_key(key_pem, self.passphrase.encode())
        except (ValueError, TypeError) as exc:
            raise RootUnavailable(
                f"the root CA's key in {self.key_file} is not an encrypted PEM private key that "
                "PKI_ROOT_KEY_PASSPHRASE opens"
            ) from exc
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise RootUnavailable(f"no PEM certificate in {self.certificate_file or self.key_file}") from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise RootUnavailable("the root CA's key must be RSA or elliptic-curve")
        if cert.public_key() != key.public_key():
            raise RootUnavailable("the root CA's certificate is not the key's")
        constraints = _extension(cert, x509.BasicConstraints)
        if constraints is None or not constraints.ca or cert.issuer != cert.subject:
            raise RootUnavailable("the root CA's certificate is not a self-signed CA certificate")
        return Root(cert, key)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _extension(cert: x509.Certificate, kind: type[T]) -> T | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _distribution_point(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None,
    )])


def _start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(microsecond=0)


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
    )


def new_root(now: dt.datetime, base_url: str, *, development: bool = False) -> Root:
    """A self-signed root on P-384 (quick to make, and short signatures on the issuing CA's
    certificate and the root CRL). It names its own CRL's URL: `openssl verify -crl_check_all`
    checks the trust anchor's CRL too, and finds it only there."""
    key = ec.generate_private_key(ec.SECP384R1())
    start = _start(now)
    name = _name(f"{ROOT_NAME}{' (development)' if development else ''} {start:%Y-%m}")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(add_years(start, ROOT_VALIDITY_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(_distribution_point(f"{base_url}{ROOT_CRL_PATH}"), critical=False)
        .sign(key, hashes.SHA384())
    )
    return Root(cert, key)


def root_file_pem(root: Root, passphrase: str) -> bytes:
    """The certificate and the key (PKCS#8, encrypted) in one PEM file."""
    return root.certificate.public_bytes(serialization.Encoding.PEM) + root.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )


def write_root_file(path: str, passphrase: str, now: dt.datetime, base_url: str, *, development: bool = False) -> None:
    """Make a root into `path` (mode 0600) unless one is there: several processes starting at once
    all end up with the first one's root (the file appears complete or not at all)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".root-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(root_file_pem(new_root(now, base_url, development=development), passphrase))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, target)  # fails if another process got there first: theirs wins
    finally:
        os.unlink(temporary)


def issuing_certificate(
    root: Root, subject: x509.Name, public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, now: dt.datetime,
    not_after: dt.datetime, base_url: str,
) -> x509.Certificate:
    """The issuing CA's certificate, signed by the root: for a new key, or for the key of a CA from
    before the hierarchy (same subject and key, so what it issued chains to the root)."""
    start = _start(now)
    root_ski = _extension(root.certificate, x509.SubjectKeyIdentifier)
    assert root_ski is not None
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(not_after, root.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .add_extension(_distribution_point(f"{base_url}{ROOT_CRL_PATH}"), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(f"{base_url}{ROOT_CERTIFICATE_PATH}"),
            )]),
            critical=False,
        )
        .sign(root.key, _hash_for(root.key))
    )


def root_crl(root: Root, now: dt.datetime) -> tuple[str, dt.datetime]:
    """The root's CRL: empty (it has revoked no issuing CA), long-lived. Its number is the time it
    was made, so that it grows without a counter kept anywhere."""
    this_update = _start(now)
    next_update = this_update + ROOT_CRL_VALIDITY
    root_ski = _extension(root.certificate, x509.SubjectKeyIdentifier)
    assert root_ski is not None
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(int(this_update.timestamp())), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .sign(root.key, _hash_for(root.key))
    )
    return crl.public_bytes(serialization.Encoding.PEM).decode(), next_update


def responder_certificate(
    issuing: x509.Certificate, issuing_key: PrivateKey, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A delegated OCSP responder (RFC 6960 4.2.2.2): its own P-256 key, short-lived, with
    id-pkix-ocsp-nocheck so that clients need not ask about the responder itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = _start(now)
    issuing_ski = _extension(issuing, x509.SubjectKeyIdentifier)
    assert issuing_ski is not None
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{RESPONDER_NAME} {start:%Y-%m-%d}"))
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(start + RESPONDER_VALIDITY, issuing.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuing_ski), critical=False)
        .sign(issuing_key, hashes.SHA256())
    )
    return cert, key


def _hash_for(key: PrivateKey) -> hashes.HashAlgorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def main(argv: list[str] | None = None) -> int:
    """`python -m app.adapters.pki_hierarchy FILE`: make a root CA into FILE (never over an existing
    one), its key encrypted with PKI_ROOT_KEY_PASSPHRASE, naming PUBLIC_BASE_URL's root CRL; then set
    PKI_ROOT_KEY_FILE=FILE. Prints the certificate's SHA-256 fingerprint, nothing secret."""
    import sys

    from app.config import MIN_SECRET

    args = sys.argv[1:] if argv is None else argv
    settings = Settings.from_env()
    passphrase = settings.pki_root_key_passphrase or ""
    if len(args) != 1:
        print("usage: python -m app.adapters.pki_hierarchy FILE", file=sys.stderr)
        return 2
    if passphrase == DEV_PKI_ROOT_PASSPHRASE or len(passphrase.encode()) < MIN_SECRET:
        print(f"PKI_ROOT_KEY_PASSPHRASE must be set, at least {MIN_SECRET} bytes, and not the development default",
              file=sys.stderr)
        return 2
    if os.path.exists(args[0]):
        print(f"{args[0]} exists: a root is never overwritten", file=sys.stderr)
        return 2
    write_root_file(args[0], passphrase, dt.datetime.now(dt.UTC), settings.pki_base_url)
    root = RootSource(args[0], passphrase).load(dt.datetime.now(dt.UTC))
    print(f"{args[0]}: {root.certificate.subject.rfc4514_string()}, SHA-256 "
          f"{root.certificate.fingerprint(hashes.SHA256()).hex().upper()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
