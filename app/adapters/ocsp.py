"""The OCSP responder's messages (RFC 6960), built and parsed with cryptography's OCSP module.

`parse` reads a request (or says it is malformed), `asks_about_us` checks that it names our issuing
CA (by the hashes of its name and key, in whatever hash the client chose), and `respond` signs the
answer with the delegated responder's key: good, revoked (time and reason) or unknown, thisUpdate
now and nextUpdate RESPONSE_VALIDITY later, the request's nonce echoed. Unsuccessful answers
(malformedRequest, unauthorized, internalError) are unsigned, as the RFC has them."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp

from app.domain.certificates.authority import SerialStatus
from app.domain.certificates.model import CertificateStatus, RevocationReason

# A request names one certificate in a few hundred bytes; a signed one with its chain a few KiB.
MAX_REQUEST_BYTES = 16 * 1024
# How long a response may be relied on: a revocation is visible to a client at the latest this long
# after it is made (the CRL's HTTP caching allows the same, CRL_MAX_AGE).
RESPONSE_VALIDITY = dt.timedelta(minutes=5)
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class Question:
    """What one request asks: the certificate (by our issuer's hashes and its serial), and a nonce."""

    request: ocsp.OCSPRequest
    serial_number: int
    nonce: bytes | None


def parse(der: bytes) -> Question | None:
    """The request's one question, or None if it is not a well-formed OCSP request for one
    certificate (cryptography reads only single-certificate requests; such a request is rare and
    answered malformedRequest)."""
    try:
        request = ocsp.load_der_ocsp_request(der)
        serial = request.serial_number
        request.hash_algorithm  # noqa: B018  (an algorithm cryptography does not know is malformed too)
        nonce = None
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                nonce = extension.value.nonce
    except Exception:  # the parser's errors on arbitrary bytes are not all ValueError
        return None
    return Question(request, serial, nonce)


@functools.lru_cache(maxsize=16)
def _issuer_hashes(issuer_der: bytes, child_der: bytes, algorithm: str) -> tuple[bytes, bytes]:
    """Our issuer's name and key hashes in `algorithm` as cryptography computes them for a request
    about `child`, a certificate the issuer signed (the CertID's name hash is of the child's issuer)."""
    issuer = x509.load_der_x509_certificate(issuer_der)
    child = x509.load_der_x509_certificate(child_der)
    probe = ocsp.OCSPRequestBuilder().add_certificate(child, issuer, HASHES[algorithm]()).build()
    return probe.issuer_name_hash, probe.issuer_key_hash


def asks_about_us(
    question: Question, issuers: list[tuple[x509.Certificate, x509.Certificate]]
) -> x509.Certificate | None:
    """Which of our issuers the request names (RFC 6960 4.1.1 CertID), if any. Each issuer comes
    with a certificate it signed (the responder's), from which the hashes are computed."""
    algorithm = question.request.hash_algorithm.name
    if algorithm not in HASHES:
        return None
    for issuer, child in issuers:
        der = serialization.Encoding.DER
        name_hash, key_hash = _issuer_hashes(issuer.public_bytes(der), child.public_bytes(der), algorithm)
        if (question.request.issuer_name_hash, question.request.issuer_key_hash) == (name_hash, key_hash):
            return issuer
    return None


def unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def respond(
    question: Question, known: SerialStatus | None, responder: x509.Certificate, responder_key: PrivateKey,
    now: dt.datetime, reasons: dict[RevocationReason, x509.ReasonFlags],
) -> bytes:
    """A signed BasicOCSPResponse. A serial we never issued is unknown; one we issued is good until
    revoked (an expired certificate stays good: RFC 6960 leaves expiry to the client's path check)."""
    this_update = now.astimezone(dt.UTC).replace(microsecond=0)
    status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    if known is not None and known.status is CertificateStatus.REVOKED and known.revoked_at is not None:
        status = ocsp.OCSPCertStatus.REVOKED
        revoked_at = known.revoked_at.astimezone(dt.UTC).replace(microsecond=0)
        reason = reasons.get(known.reason) if known.reason else None
    elif known is not None and known.status in (CertificateStatus.ISSUED, CertificateStatus.EXPIRED):
        status = ocsp.OCSPCertStatus.GOOD
    request = question.request
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number, algorithm=request.hash_algorithm, cert_status=status,
            this_update=this_update, next_update=this_update + RESPONSE_VALIDITY,
            revocation_time=revoked_at, revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
        .certificates([responder])
    )
    if question.nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(question.nonce), critical=False)
    algorithm = hashes.SHA384() if isinstance(responder_key, ec.EllipticCurvePrivateKey) and \
        responder_key.curve.key_size >= 384 else hashes.SHA256()
    return builder.sign(responder_key, algorithm).public_bytes(serialization.Encoding.DER)
