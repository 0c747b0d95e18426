"""Compiled forms of the certificates area's fields (app/schema/runtime/plans.py)."""

from __future__ import annotations

from app.schema.certificates.queries import CertificateQueries
from app.schema.certificates.types import CertificateConnection
from app.schema.runtime.plans import by_resolver, resolver_of

by_resolver("Query", "certificates", resolver_of(CertificateQueries, "certificates"))
by_resolver("CertificateConnection", "totalCount", resolver_of(CertificateConnection, "total_count"))
