"""Plain HTTP beside GraphQL for certificates: the issuing CA's certificate and CRL, the root's
certificate and CRL, all public, in DER at the URLs certificates name (`/pki/ca.cer`, `/pki/crl.crl`,
`/pki/root.cer`, `/pki/root-crl.crl`: what relying parties fetch) and in PEM for people
(`/pki/ca.pem`: the chain, issuing CA then root; `/pki/crl.pem`, `/pki/root.pem`); the OCSP responder
(RFC 6960: `POST /pki/ocsp`, and `GET /pki/ocsp/<base64 request>` as its appendix A.1 has it); the streamed CSV export (`/exports/certificates.csv`, same bearer
token, policy and filters as the `certificates` field); the page an order's link opens."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import html
import io
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp as x509_ocsp
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.adapters import ocsp
from app.adapters.pki import CA_CERTIFICATE_PATH, CRL_PATH, REASONS, pki_for, serial_hex
from app.adapters.pki_hierarchy import OCSP_PATH, ROOT_CERTIFICATE_PATH, ROOT_CRL_PATH, RootUnavailable
from app.bootstrap import Services
from app.domain.certificates.authority import (
    CRL_REFRESH_MARGIN,
    AuthorityStore,
    current_authority,
    current_responder,
    needs_writing,
    published_revocation_list,
    published_root_revocation_list,
    responder_is_fresh,
    root_list_is_fresh,
)
from app.domain.certificates.model import (
    AuthorityRecord,
    CertificateFilter,
    CertificateOrder,
    CertificateStatus,
)
from app.domain.common import csv_files
from app.domain.common.csv_files import BOM, neutralise
from app.domain.common.policy import Action
from app.entrypoints.http.exports import authorise, error
from app.persistence.certificates.reads import stream_certificates
from app.persistence.certificates.repository import SqlAuthorityStore
from app.persistence.db import is_sqlite, write_transaction
from app.schema.certificates.queries import filter_from_query
from app.schema.runtime.base import to_global_id

PEM = "application/x-pem-file"
CERTIFICATE_DER = "application/pkix-cert"  # RFC 2585
CRL_DER = "application/pkix-crl"
OCSP_RESPONSE = "application/ocsp-response"
CA_MAX_AGE = 3600
# A revocation republishes the CRL at once, so caches may keep it only briefly (never past its
# nextUpdate): a relying party sees a revocation within this.
CRL_MAX_AGE = 300
FLUSH_BYTES = 64 * 1024
ISSUED, EXPIRED = CertificateStatus.ISSUED.value, CertificateStatus.EXPIRED.value
# The responder's record is kept in each process this long (an OCSP request then reads only the
# certificate's status); a rotated responder certificate is picked up at the latest then.
RESPONDER_CACHE_SECONDS = 60.0
log = logging.getLogger(__name__)

HEADER = [
    "id", "uuid", "kind", "type", "status", "name", "email", "contactName", "contactEmail", "userUuid", "pNumber",
    "seNumber", "serialNumber", "subject", "notBefore", "notAfter", "orderedAt", "issuedAt", "revokedAt",
    "revocationReason", "issuance", "purposes", "systemRights", "canSeal", "allowUserSigning", "predecessorUuid",
    "successorUuid",
]


def _free(value: str | None) -> str:
    """Free text (names, emails, subject) is where a formula could hide."""
    return "" if value is None else neutralise(value)


def _plain(value: Any) -> str:
    """Values of our own making (enums, UUIDs, hex, digits): never start with a formula character."""
    return "" if value is None else str(value)


def _moment(value: dt.datetime | None) -> str:
    return "" if value is None else value.isoformat()  # UTC already (UTCDateTime)


def csv_cells(row: Any, now: dt.datetime) -> list[str]:
    """One certificate as export cells, in HEADER's order; expiry derived as in the GraphQL field.
    The row is unpacked by position (EXPORT_COLUMNS' order): per-name access costs more than the rest."""
    (
        id_, kind, type_, status, name, email, contact_name, contact_email, user_id, p_number, se_number, serial,
        subject, not_before, not_after, ordered_at, issued_at, revoked_at, reason, can_seal, allow_user_signing,
        predecessor, successor, purposes, issuance, rights,
    ) = row
    if status == ISSUED and not_after is not None and not_after <= now:
        status = EXPIRED
    return [
        to_global_id("Certificate", id_), str(id_), kind, type_, status, _free(name), _free(email),
        _free(contact_name), _free(contact_email), _plain(user_id), _plain(p_number), _plain(se_number),
        _plain(serial), _free(subject), _moment(not_before), _moment(not_after), _moment(ordered_at),
        _moment(issued_at), _moment(revoked_at), _plain(reason), _plain(issuance), purposes,
        ",".join(sorted(rights.split(","))) if rights else "", "true" if can_seal else "false",
        "true" if allow_user_signing else "false", _plain(predecessor), _plain(successor),
    ]


async def ensure_authority(services: Services) -> AuthorityRecord:
    """The gateway's CA, created (key encrypted at rest) if this database has none yet."""
    async with write_transaction(services.engine) as conn:
        store = SqlAuthorityStore(conn, lock_rows=not is_sqlite(str(services.engine.url)))
        return await current_authority(store, pki_for(services.settings), services.platform.now())


def certificate_routes(services: Services) -> list[Route]:
    lock_rows = not is_sqlite(str(services.engine.url))

    async def _read(fn: Callable[[AuthorityStore], Any]) -> Any:
        async with services.engine.connect() as conn:
            return await fn(SqlAuthorityStore(conn, lock_rows=lock_rows))

    async def _write(fn: Callable[[AuthorityStore], Any]) -> Any:
        """Creating the CA or republishing the CRL: one writer at a time (SQLite's BEGIN IMMEDIATE)."""
        async with write_transaction(services.engine) as conn:
            return await fn(SqlAuthorityStore(conn, lock_rows=lock_rows))

    def _now() -> dt.datetime:
        return services.platform.now()

    async def _authority() -> AuthorityRecord:
        record: AuthorityRecord | None = await _read(lambda s: s.authority())
        if record is None or needs_writing(record):
            record = await _write(lambda s: current_authority(s, pki_for(services.settings), _now()))
        assert record is not None
        return record

    async def _ca_certificate() -> str:
        return (await _authority()).certificate_pem

    async def _root_certificate() -> str:
        root = (await _authority()).root_certificate_pem
        assert root is not None  # current_authority certifies a CA from before the root
        return root

    async def _root_crl(now: dt.datetime) -> str:
        record = await _authority()
        if root_list_is_fresh(record, now):
            assert record.root_crl_pem is not None
            return record.root_crl_pem
        try:
            pem: str = await _write(lambda s: published_root_revocation_list(s, pki_for(services.settings), now))
        except RootUnavailable as exc:  # the root's key is kept elsewhere: serve what was published
            if record.root_crl_pem is None:
                raise
            log.warning("the root CRL is due and cannot be re-signed here: %s", exc)
            return record.root_crl_pem
        return pem

    responder_cache: dict[str, tuple[float, AuthorityRecord]] = {}

    async def _responder(now: dt.datetime) -> AuthorityRecord:
        """The CA's record with a current responder certificate, from this process's cache when it
        is younger than RESPONDER_CACHE_SECONDS and the responder is not due for renewal."""
        ca = pki_for(services.settings)
        cached = responder_cache.get("record")
        if cached and time.monotonic() - cached[0] < RESPONDER_CACHE_SECONDS and responder_is_fresh(cached[1], ca, now):
            return cached[1]
        record: AuthorityRecord | None = await _read(lambda s: s.authority())
        if record is None or needs_writing(record) or not responder_is_fresh(record, ca, now):
            record = await _write(lambda s: current_responder(s, ca, now))
        assert record is not None
        responder_cache["record"] = (time.monotonic(), record)
        return record

    async def _ocsp_answer(der: bytes | None) -> Response:
        question = ocsp.parse(der) if der is not None else None
        if question is None:
            return _ocsp_response(ocsp.unsuccessful(x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST))
        now = _now()
        try:
            record = await _responder(now)
            ca = pki_for(services.settings)
            responder, key = ca.open_responder(record)
            if ocsp.asks_about_us(question, [(ca.issuing_certificate(record), responder)]) is None:
                # RFC 6960 2.3: not a certificate this responder may speak for
                return _ocsp_response(ocsp.unsuccessful(x509_ocsp.OCSPResponseStatus.UNAUTHORIZED))
            serial = question.serial_number
            known = await _read(lambda s: s.serial_status(serial_hex(serial))) if serial.bit_length() <= 160 else None
            return _ocsp_response(ocsp.respond(question, known, responder, key, now, REASONS))
        except Exception:
            log.exception("OCSP request failed")
            return _ocsp_response(ocsp.unsuccessful(x509_ocsp.OCSPResponseStatus.INTERNAL_ERROR))

    async def ocsp_post(request: Request) -> Response:
        return await _ocsp_answer(await _capped_body(request, ocsp.MAX_REQUEST_BYTES))

    async def ocsp_get(request: Request) -> Response:
        """RFC 6960 A.1: the DER request, base64 and then URL-encoded (the path arrives decoded)."""
        encoded = request.path_params["encoded"]
        der = None
        if len(encoded) <= ocsp.MAX_REQUEST_BYTES * 4 // 3 + 4:
            try:
                der = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                der = None
        return await _ocsp_answer(der)

    async def root_der(request: Request) -> Response:
        der = _certificate_der(await _root_certificate())
        return Response(der, media_type=CERTIFICATE_DER, headers={"Cache-Control": f"public, max-age={CA_MAX_AGE}"})

    async def root_pem(request: Request) -> Response:
        return Response(await _root_certificate(), media_type=PEM,
                        headers={"Cache-Control": f"public, max-age={CA_MAX_AGE}"})

    async def root_crl_der(request: Request) -> Response:
        now = _now()
        der, next_update = _crl_der(await _root_crl(now))
        return Response(der, media_type=CRL_DER, headers=crl_cache_headers(next_update, now))

    async def _crl(now: dt.datetime) -> str:
        record: AuthorityRecord | None = await _read(lambda s: s.authority())
        if record and record.crl_pem and record.crl_next_update and record.crl_next_update - CRL_REFRESH_MARGIN > now:
            return record.crl_pem
        pem: str = await _write(lambda s: published_revocation_list(s, pki_for(services.settings), now))
        return pem

    async def ca_pem(request: Request) -> Response:
        """The chain for people: the issuing CA, then the root."""
        record = await _authority()
        pem = record.certificate_pem + (record.root_certificate_pem or "")
        return Response(pem, media_type=PEM, headers={"Cache-Control": f"public, max-age={CA_MAX_AGE}"})

    async def ca_der(request: Request) -> Response:
        der = _certificate_der(await _ca_certificate())
        return Response(der, media_type=CERTIFICATE_DER, headers={"Cache-Control": f"public, max-age={CA_MAX_AGE}"})

    async def crl_pem(request: Request) -> Response:
        return Response(await _crl(_now()), media_type=PEM, headers={"Cache-Control": "no-cache"})

    async def crl_der(request: Request) -> Response:
        now = _now()
        der, next_update = _crl_der(await _crl(now))
        return Response(der, media_type=CRL_DER, headers=crl_cache_headers(next_update, now))

    async def order_page(request: Request) -> Response:
        """Where an order's email link leads: which certificate to issue, and how."""
        try:
            certificate_id = uuid.UUID(request.path_params["certificate_id"])
        except ValueError:
            return HTMLResponse("<h1>Unknown certificate</h1>", status_code=404)
        gid = html.escape(to_global_id("Certificate", certificate_id))
        return HTMLResponse(
            "<!doctype html><title>Issue your MitID Erhverv certificate</title>"
            "<h1>Issue your MitID Erhverv certificate</h1>"
            f"<p>Certificate <code>{gid}</code>. Log in, then issue it with the "
            "<code>issueUserCertificate</code> mutation (an organisation certificate: "
            "<code>retrieveOrganisationCertificate</code>), giving your device's CSR or a password for the "
            "generated key.</p>"
        )

    async def export_csv(request: Request) -> Response:
        actor = await authorise(services, request, Action.VIEW_CERTIFICATES)
        if isinstance(actor, JSONResponse):
            return actor
        try:
            f, order = filter_from_query(request.query_params)
        except GraphQLError as exc:
            return error(400, "BAD_USER_INPUT", exc.message)
        return StreamingResponse(
            _csv(actor.org_id, f, order, _now()),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="certificates.csv"', "Cache-Control": "no-store"},
        )

    async def _csv(org_id: int, f: CertificateFilter, order: CertificateOrder, now: dt.datetime) -> AsyncIterator[bytes]:
        yield BOM
        buffer = io.StringIO()
        writer = csv_files.writer(buffer)
        writer.writerow(HEADER)
        async with services.engine.connect() as conn:
            async for rows in stream_certificates(conn, org_id, f, order, now):
                writer.writerows(csv_cells(row, now) for row in rows)
                if buffer.tell() >= FLUSH_BYTES:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue().encode()

    return [
        Route(CA_CERTIFICATE_PATH, ca_der),
        Route(CRL_PATH, crl_der),
        Route("/pki/ca.pem", ca_pem),
        Route("/pki/crl.pem", crl_pem),
        Route(ROOT_CERTIFICATE_PATH, root_der),
        Route("/pki/root.pem", root_pem),
        Route(ROOT_CRL_PATH, root_crl_der),
        Route(OCSP_PATH, ocsp_post, methods=["POST"]),
        Route(OCSP_PATH + "/{encoded:path}", ocsp_get, methods=["GET"]),
        Route("/certificates/{certificate_id}", order_page),
        Route("/exports/certificates.csv", export_csv),
    ]


def _ocsp_response(der: bytes) -> Response:
    """Always HTTP 200 (RFC 6960 A.1: the status is in the response); never cached, so a revocation is
    seen by the next request."""
    return Response(der, media_type=OCSP_RESPONSE, headers={"Cache-Control": "no-cache"})


async def _capped_body(request: Request, limit: int) -> bytes | None:
    """The body, or None past `limit` bytes (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def crl_cache_headers(next_update: dt.datetime, now: dt.datetime) -> dict[str, str]:
    """Cacheable for CRL_MAX_AGE, never past the CRL's nextUpdate."""
    left = max(0, int((next_update - now).total_seconds()))
    return {"Cache-Control": f"public, max-age={min(CRL_MAX_AGE, left)}"}


# The stored PEM is the truth; its DER form is parsed once per published version.
@functools.lru_cache(maxsize=4)
def _certificate_der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)


@functools.lru_cache(maxsize=4)
def _crl_der(pem: str) -> tuple[bytes, dt.datetime]:
    crl = x509.load_pem_x509_crl(pem.encode())
    next_update = crl.next_update_utc
    assert next_update is not None  # ours always carry one
    return crl.public_bytes(serialization.Encoding.DER), next_update
