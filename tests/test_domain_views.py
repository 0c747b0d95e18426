"""Nodes that read their fields from the domain object they show (app/schema/runtime/base.py DomainView):
every declared field of each such node reads the right thing, whatever the schema selects."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from app.domain.activity.model import Activity
from app.domain.certificates.model import Certificate, CertificateKind, CertificatePurpose, CertificateStatus
from app.domain.user_groups.model import GroupKind, UserGroup
from app.schema.activity import DETAILS_NOT_READ, ActivityEdge, ActivityNode
from app.schema.certificates.types import PEM_NOT_READ, CertificateNode
from app.schema.runtime.base import DomainView, from_global_id
from app.schema.user_groups.types import UserGroupNode

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


class Marker:
    """A value no mapping could produce by accident: a field reading it got the right attribute."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def domain(cls: type, **real: Any) -> Any:
    return cls(**{f.name: real.get(f.name, Marker(f.name)) for f in dataclasses.fields(cls)})


def declared_values(node: Any) -> dict[str, Any]:
    """Every declared field of a node that is not a resolver (plain fields and private ones)."""
    return {
        f.name: getattr(node, f.name)
        for f in dataclasses.fields(node)
        if getattr(f, "base_resolver", None) is None
    }


CERT_ID, GROUP_ID, USER_ID = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def views() -> list[tuple[Any, Any, dict[str, Any]]]:
    """(domain object, its node, what each derived or given field must be)."""
    cert = domain(
        Certificate, id=CERT_ID, kind=CertificateKind.USER, status=CertificateStatus.ISSUED,
        not_after=NOW - dt.timedelta(days=1), purposes=(CertificatePurpose.SIGNING,), user_id=USER_ID,
    )
    activity = domain(Activity, id=41, type="USER_CREATED")
    group = domain(UserGroup, id=GROUP_ID, kind=GroupKind.CUSTOM)
    node = ActivityNode.of(activity, details_read=False)
    return [
        (cert, CertificateNode.of(cert, NOW, pem_read=False), {
            "id": ("Certificate", str(CERT_ID)), "uuid": CERT_ID, "status": CertificateStatus.EXPIRED,
            "purposes": [CertificatePurpose.SIGNING], "_user_id": USER_ID, "_pem": PEM_NOT_READ,
            "_ordered_by": cert.ordered_by, "_profile_id": cert.profile_id,
            "_predecessor_id": cert.predecessor_id, "_successor_id": cert.successor_id,
        }),
        (activity, node, {"id": ("Activity", "41"), "type": "USER_CREATED", "_id": 41, "_details": "not read"}),
        (activity, ActivityEdge.view(activity, node=node), {"cursor": ("Activity", "41"), "node": node}),
        (group, UserGroupNode.of(group), {"id": ("UserGroup", str(GROUP_ID)), "_id": GROUP_ID}),
    ]


@pytest.mark.parametrize("index", range(4), ids=["certificate", "activity", "activity edge", "group"])
def test_every_declared_field_of_a_view_reads_its_domain_object(index: int) -> None:
    obj, node, expected = views()[index]
    same, derived = type(node)._view_fields
    values = declared_values(node)
    assert set(values) == set(same) | set(derived) | set(expected)  # each field is read or given
    for name in same:  # the domain object's own attribute, not a copy of another one
        assert values[name] is getattr(obj, name), name
    for name, want in expected.items():
        got = values[name]
        if isinstance(want, tuple):  # a global id or cursor: its decoded type and value
            assert from_global_id(got) == want, name
        elif name == "type":
            assert got.value == want
        elif name == "_details":
            assert got is DETAILS_NOT_READ
        else:
            assert got == want, name


def test_a_view_is_not_built_by_the_dataclass_init_and_refuses_unknown_attributes() -> None:
    _, node, _ = views()[0]
    assert isinstance(node, DomainView) and isinstance(node, CertificateNode)
    with pytest.raises(AttributeError):
        node.no_such_field  # noqa: B018


def test_a_view_of_a_partial_certificate_names_it_without_reading_its_fields() -> None:
    from app.persistence.certificates.reads import partial_certificate

    partial = partial_certificate(("id", "serial_number"), (CERT_ID, "0A1B"))
    node = CertificateNode.of(partial, NOW, pem_read=False)
    assert node.serial_number == "0A1B"
    assert repr(node) == f"<CertificateNode of Certificate {CERT_ID}>"
    with pytest.raises(AttributeError):
        node.subject  # noqa: B018 - not read: missing, never None
