"""A holder's certificates when the holder goes or asks: deleting a user (one by one, by CSV, or
recreating them anonymous) revokes their certificates in the delete's transaction and the CRL lists them at once;
`revokeOwnCertificate` lets the holder, and only the holder, block their own. Over HTTP on both
databases, the CRL parsed with `cryptography`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from cryptography import x509
from sqlalchemy import select, update

from app.adapters.pki import Pki
from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from app.persistence.tables.certificates import certificates
from app.persistence.tables.users import users
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture
from tests.test_bulk_import import csv_file, run_job
from tests.test_certificates import (
    PASSWORD,
    active_user,
    crl,
    holder_token,
    issue_user,
    issued_org_certificate,
    ok,
    order_user,
    payload,
    ua,
)

DELETE_USER = """mutation($input: UserIdInput!) { deleteUser(input: $input) {
    user { uuid status } userErrors { field code message } } }"""
REVOKE_OWN = """mutation($input: RevokeCertificateInput!) { revokeOwnCertificate(input: $input) {
    certificate { id status revokedAt revocationReason } userErrors { field code message } } }"""
REQUEST_ANONYMITY = """mutation { requestAnonymity(input: {reason: "Vidne"}) {
    request { id } userErrors { field code message } } }"""
APPROVE = """mutation($id: ID!) { approveAnonymityRequest(input: {requestId: $id}) {
    newUser { uuid } userErrors { field code message } } }"""
STATUS = """query($id: ID!) { certificate(id: $id) { status revokedAt revocationReason } }"""
NOTIFICATIONS = "query { notifications(first: 5) { edges { node { kind title body } } } }"


async def issued(env: Env, org: OrgFixture, holder: uuid.UUID) -> dict[str, Any]:
    """An issued user certificate of `holder`: the order's fields and the serial number as an int."""
    ordered = await order_user(env, org, holder)
    cert = (await issue_user(env, org, holder, ordered["id"], password=PASSWORD))["certificate"]
    return {**ordered, "serial": int(cert["serialNumber"], 16)}


async def status_of(env: Env, org: OrgFixture, cert_id: str) -> dict[str, Any]:
    return ok(await env.gql(STATUS, {"id": cert_id}, token=ua(env, org)))["certificate"]


def reason_on(listed: x509.CertificateRevocationList, serial: int) -> x509.ReasonFlags | None:
    entry = listed.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None, f"{serial:X} is not on the CRL"
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


async def revocations_of(env: Env, org: OrgFixture, holder: uuid.UUID) -> list[tuple[str, uuid.UUID | None, str]]:
    """The holder's certificate history: (type, actor, reason or '')."""
    async with env.engine.connect() as conn:
        rows = await conn.execute(
            select(activities.c.type, activities.c.actor_id, activities.c.details)
            .where(activities.c.org_id == org.org_id, activities.c.target_user_id == holder,
                   activities.c.type.in_(["CERTIFICATE_REVOKED", "CERTIFICATE_ORDER_CANCELLED"]))
            .order_by(activities.c.id)
        )
        return [(r.type, r.actor_id, r.details.get("reason", "")) for r in rows]


async def expire(env: Env, cert_uuid: str) -> None:
    async with env.engine.begin() as conn:
        await conn.execute(update(certificates).where(certificates.c.id == uuid.UUID(cert_uuid))
                           .values(not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))


# --- deleting the holder ----------------------------------------------------------------------------------


async def test_deleting_a_user_revokes_their_live_certificates_cancels_their_orders_and_the_crl_lists_them(
    env: Env, org: OrgFixture
) -> None:
    holder = await active_user(env, org, "Gitte", "Går")
    first, second = await issued(env, org, holder), await issued(env, org, holder)
    old = await issued(env, org, holder)
    await expire(env, old["uuid"])
    pending = await order_user(env, org, holder)
    colleague = await issued(env, org, org.people[Role.USER])
    organisation = await issued_org_certificate(env, org)
    organisation_serial = int(organisation["certificate"]["serialNumber"], 16)

    deleted = payload(await env.gql(DELETE_USER, {"input": {"userId": str(to_global_id("User", holder))}},
                                    token=ua(env, org)), "deleteUser")
    assert deleted["user"]["status"] == "DELETED"

    for cert in (first, second):
        state = await status_of(env, org, cert["id"])
        assert state["status"] == "REVOKED" and state["revocationReason"] == "HOLDER_LEFT" and state["revokedAt"]
    assert (await status_of(env, org, old["id"]))["status"] == "EXPIRED"  # already refused; left as it was
    assert (await status_of(env, org, pending["id"]))["status"] == "CANCELLED"
    assert (await status_of(env, org, colleague["id"]))["status"] == "ISSUED"
    assert (await status_of(env, org, organisation["ordered"]["id"]))["status"] == "ISSUED"

    listed = await crl(env)
    assert reason_on(listed, first["serial"]) is x509.ReasonFlags.affiliation_changed
    assert reason_on(listed, second["serial"]) is x509.ReasonFlags.affiliation_changed
    for untouched in (old["serial"], colleague["serial"], organisation_serial):
        assert listed.get_revoked_certificate_by_serial_number(untouched) is None

    # each change has its history entry, written by the person who deleted
    deleter = org.people[Role.USER_ADMINISTRATOR]
    assert await revocations_of(env, org, holder) == [
        ("CERTIFICATE_REVOKED", deleter, "HOLDER_LEFT"), ("CERTIFICATE_REVOKED", deleter, "HOLDER_LEFT"),
        ("CERTIFICATE_ORDER_CANCELLED", deleter, ""),
    ]


async def test_a_delete_that_fails_revokes_nothing(
    env: Env, org: OrgFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = await active_user(env, org, "Bo", "Bliver")
    cert = await issued(env, org, holder)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the CA's key is unavailable")

    # The revocation is saved and its history written before the CRL is signed: the failure comes
    # after them, so only the transaction keeps them out.
    with monkeypatch.context() as patched:
        patched.setattr(Pki, "revocation_list", broken)
        body = await env.gql(DELETE_USER, {"input": {"userId": str(to_global_id("User", holder))}}, token=ua(env, org))
    assert body.get("errors"), body
    assert (body.get("data") or {}).get("deleteUser") is None

    async with env.engine.connect() as conn:
        status = (await conn.execute(select(users.c.status).where(users.c.id == holder))).scalar_one()
    assert status == "ACTIVE"
    assert (await status_of(env, org, cert["id"]))["status"] == "ISSUED"
    assert (await crl(env)).get_revoked_certificate_by_serial_number(cert["serial"]) is None
    assert await revocations_of(env, org, holder) == []


async def test_approving_anonymity_revokes_the_old_identitys_certificates(env: Env, org: OrgFixture) -> None:
    holder = await active_user(env, org, "Skjult", "Person")
    cert = await issued(env, org, holder)
    asked = ok(await env.gql(REQUEST_ANONYMITY, {}, token=holder_token(env, org, holder)))["requestAnonymity"]
    assert asked["userErrors"] == []

    approved = payload(await env.gql(APPROVE, {"id": asked["request"]["id"]}, token=ua(env, org)),
                       "approveAnonymityRequest")

    assert approved["newUser"]["uuid"] != str(holder)
    state = await status_of(env, org, cert["id"])
    assert state["status"] == "REVOKED" and state["revocationReason"] == "HOLDER_LEFT"
    assert reason_on(await crl(env), cert["serial"]) is x509.ReasonFlags.affiliation_changed
    assert await revocations_of(env, org, holder) == [
        ("CERTIFICATE_REVOKED", org.people[Role.USER_ADMINISTRATOR], "HOLDER_LEFT"),
    ]


async def test_a_csv_delete_revokes_the_deleted_users_certificates_and_a_dry_run_revokes_nothing(
    env: Env, org: OrgFixture
) -> None:
    email = f"csv.{uuid.uuid4().hex[:8]}@example.dk"
    holder = await active_user(env, org, "Carl", "Csv", email=email)
    cert = await issued(env, org, holder)
    rows = csv_file([{"Bruger-UUID": str(holder), "E-mail": email}])

    dry = await run_job(env, org, rows, "DELETE", dry=True)
    assert dry["status"] == "SUCCEEDED", dry
    assert (await status_of(env, org, cert["id"]))["status"] == "ISSUED"
    assert (await crl(env)).get_revoked_certificate_by_serial_number(cert["serial"]) is None

    job = await run_job(env, org, rows, "DELETE")
    assert job["status"] == "SUCCEEDED", job
    state = await status_of(env, org, cert["id"])
    assert state["status"] == "REVOKED" and state["revocationReason"] == "HOLDER_LEFT"
    assert reason_on(await crl(env), cert["serial"]) is x509.ReasonFlags.affiliation_changed
    assert await revocations_of(env, org, holder) == [
        ("CERTIFICATE_REVOKED", org.people[Role.USER_ADMINISTRATOR], "HOLDER_LEFT"),
    ]


# --- the holder blocks their own -----------------------------------------------------------------------


async def test_a_plain_user_revokes_their_own_certificate_and_the_crl_lists_it_at_once(
    env: Env, org: OrgFixture
) -> None:
    holder = org.people[Role.USER]
    cert = await issued(env, org, holder)
    token = holder_token(env, org, holder)

    revoked = payload(await env.gql(REVOKE_OWN, {"input": {"certificateId": cert["id"],
                                                           "reason": "KEY_COMPROMISE_SUSPECTED"}}, token=token),
                      "revokeOwnCertificate")["certificate"]

    assert revoked["status"] == "REVOKED" and revoked["revocationReason"] == "KEY_COMPROMISE_SUSPECTED"
    assert revoked["revokedAt"]
    assert reason_on(await crl(env), cert["serial"]) is x509.ReasonFlags.key_compromise
    assert await revocations_of(env, org, holder) == [("CERTIFICATE_REVOKED", holder, "KEY_COMPROMISE_SUSPECTED")]
    notes = ok(await env.gql(NOTIFICATIONS, token=ua(env, org)))["notifications"]["edges"]
    assert any(n["node"]["kind"] == "CERTIFICATE_REVOKED" and cert["uuid"] not in n["node"]["body"]
               and f"{cert['serial']:040X}" in n["node"]["body"] for n in notes), notes

    again = await env.gql(REVOKE_OWN, {"input": {"certificateId": cert["id"], "reason": "KEY_LOST"}}, token=token)
    assert payload(again, "revokeOwnCertificate", "ALREADY_REVOKED")["certificate"] is None
    assert (await status_of(env, org, cert["id"]))["revocationReason"] == "KEY_COMPROMISE_SUSPECTED"


async def test_no_one_but_the_holder_revokes_a_certificate_not_even_an_administrator(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    holder = await active_user(env, org, "Ejer", "Selv")
    cert = await issued(env, org, holder)
    organisation = await issued_org_certificate(env, org)
    tokens = [token_for(env, org, role) for role in Role] + [token_for(env, other_org, Role.USER_ADMINISTRATOR)]
    for token in tokens:
        for target in (cert["id"], organisation["ordered"]["id"], str(to_global_id("Certificate", uuid.uuid4()))):
            body = await env.gql(REVOKE_OWN, {"input": {"certificateId": target, "reason": "KEY_LOST"}}, token=token)
            result = payload(body, "revokeOwnCertificate", "NOT_FOUND")
            assert result["certificate"] is None and result["userErrors"][0]["field"] == ["certificateId"]
    assert (await status_of(env, org, cert["id"]))["status"] == "ISSUED"
    assert (await status_of(env, org, organisation["ordered"]["id"]))["status"] == "ISSUED"
    assert (await crl(env)).get_revoked_certificate_by_serial_number(cert["serial"]) is None
    assert await revocations_of(env, org, holder) == []


async def test_the_holder_cannot_give_the_organisations_reason_nor_revoke_an_order(env: Env, org: OrgFixture) -> None:
    holder = org.people[Role.USER]
    token = holder_token(env, org, holder)
    cert = await issued(env, org, holder)
    body = await env.gql(REVOKE_OWN, {"input": {"certificateId": cert["id"], "reason": "HOLDER_LEFT"}}, token=token)
    assert payload(body, "revokeOwnCertificate", "INVALID_REASON")["userErrors"][0]["field"] == ["reason"]
    assert (await status_of(env, org, cert["id"]))["status"] == "ISSUED"

    ordered = await order_user(env, org, holder)
    body = await env.gql(REVOKE_OWN, {"input": {"certificateId": ordered["id"], "reason": "KEY_LOST"}}, token=token)
    payload(body, "revokeOwnCertificate", "NOT_ISSUED")
    assert (await status_of(env, org, ordered["id"]))["status"] == "ORDERED"
