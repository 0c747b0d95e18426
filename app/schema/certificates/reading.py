"""Which columns a selection of Certificate fields reads: a user's list of certificates reads only
those (`reading_of`, the loaders' shape of `User.certificates`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import FieldNode
from strawberry.types import Info

from app.schema.runtime.base import field_nodes

# What each field of Certificate reads from the domain certificate (CertificateNode's view, its
# resolvers' ids): a user's list reads only those columns. A field missing here reads them all
# (tests/test_certificates.py holds the table to the schema).
FIELD_READS: dict[str, tuple[str, ...]] = {
    "__typename": (), "id": ("id",), "uuid": ("id",), "kind": ("kind",), "type": ("type",),
    "qualified": ("type",), "status": ("status", "not_after"), "issuance": ("issuance",),
    "purposes": ("purposes",), "name": ("name",), "email": ("email",), "contactName": ("contact_name",),
    "contactEmail": ("contact_email",), "pNumber": ("p_number",), "seNumber": ("se_number",),
    "serialNumber": ("serial_number",), "subject": ("subject",), "notBefore": ("not_before",),
    "notAfter": ("not_after",), "fingerprintSha256": ("fingerprint_sha256",), "canSeal": ("can_seal",),
    "allowUserSigning": ("allow_user_signing",), "orderedAt": ("ordered_at",), "issuedAt": ("issued_at",),
    "cancelledAt": ("cancelled_at",), "revokedAt": ("revoked_at",), "revocationReason": ("revocation_reason",),
    "certificatePem": ("id",), "systemRights": ("kind", "id"), "user": ("user_id",),
    "orderedBy": ("ordered_by",), "profile": ("profile_id",), "predecessor": ("predecessor_id",),
    "successor": ("successor_id",), "updatedAt": ("updated_at", "ordered_at"),
}


def certificate_reading(nodes: Sequence[FieldNode], fragments: dict[str, Any]) -> frozenset[str] | None:
    """The domain attributes that the selections of a certificates list read, or None (read all)."""
    needed: set[str] = set()
    for node in nodes:
        for f in field_nodes(node.selection_set, fragments):
            reads = FIELD_READS.get(f.name.value)
            if reads is None:
                return None
            needed.update(reads)
    return frozenset(needed)


def reading_of(info: Info, field_nodes: Sequence[FieldNode] | None = None) -> frozenset[str] | None:
    """`certificate_reading` of a certificates field's selections (this field's, or `field_nodes`
    of it that a page's prefetch found), worked out once per request."""
    raw = info._raw_info
    nodes = raw.field_nodes if field_nodes is None else field_nodes
    memo = info.context.memo
    key = ("certificate_reading", *map(id, nodes))
    if key not in memo:
        memo[key] = certificate_reading(nodes, raw.fragments)
    return memo[key]
