"""The certificates area's loaders, and `User.certificates` prefetched for a page of users."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from graphql import FieldNode
from strawberry.types import Info

from app.persistence.certificates import reads as certificates_sql
from app.schema.certificates.reading import reading_of
from app.schema.runtime.loaders import by_key, by_key_and_shape
from app.schema.runtime.prefetch import prefetched

CERTIFICATE_BY_ID = by_key("certificate_by_id", certificates_sql.certificates_by_ids)  # uuid -> Certificate | None
CERTIFICATE_PEM = by_key("certificate_pem_by_id", certificates_sql.certificate_pems)  # uuid -> PEM | None
SYSTEM_RIGHTS = by_key("system_rights_by_certificate", certificates_sql.system_rights_by_certificate, [])
CERTIFICATE_PROFILE_BY_ID = by_key("certificate_profile_by_id", certificates_sql.profiles_by_ids)
# (user uuid, the columns the selection reads or None) -> [Certificate] without their PEM
CERTIFICATES_OF_USER = by_key_and_shape("certificates_by_user", certificates_sql.certificates_by_user, [])


def _reading(info: Info, field: FieldNode, arguments: dict[str, Any]) -> tuple[Hashable, ...]:
    return (reading_of(info, [field]),)  # what the field's resolver will ask for


prefetched("User", "certificates", CERTIFICATES_OF_USER, _reading)
