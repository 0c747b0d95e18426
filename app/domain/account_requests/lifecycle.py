"""Use cases of a request for a user account: submitted on the public form (stored and mailed for
confirmation only where the organisation's setting allows it), confirmed by the requester's link,
then approved (the user is created by the users area's own use case and sent for activation) or
rejected (the requester is told) by a user administrator."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from app.domain.account_requests.model import AccountRequest, AccountRequestStatus
from app.domain.account_requests.rules import CONFIRMATION_VALIDITY, REASON_MAX, E, ValidRequest, free_text
from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.mail import OutgoingMail
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors
from app.domain.notifications.delivery import notify_administrators_of
from app.domain.users.lifecycle import CreatedUser, create_user
from app.domain.users.rules import NewUser

S = AccountRequestStatus


async def submit_request(uow: UnitOfWork, data: ValidRequest, confirmation_link: Callable[[str], str]) -> None:
    """Nothing happens (and the caller is told nothing) where requests are not allowed, while the
    address has an open request here (one confirmation mail per request, not one per form sent), or
    when a user of the organisation already has the address (approving could only fail)."""
    if not (await uow.organisations.get_settings()).employees_may_request_user:
        return
    now = uow.platform.now()
    if await uow.account_requests.open_request_for(data.email, now) is not None:
        return
    if await uow.users.email_taken(data.email):
        return
    token = uow.platform.new_token()
    request = AccountRequest(
        id=uuid.uuid4(), org_id=uow.actor.org_id, first_name=data.first_name, last_name=data.last_name,
        email=data.email, message=data.message, status=S.PENDING_CONFIRMATION, created_at=now,
        token_hash=uow.platform.hash_token(token), token_expires_at=now + CONFIRMATION_VALIDITY,
    )
    await uow.account_requests.add(request)
    await uow.outbox.add(confirmation_mail(uow, request, confirmation_link(token)))


def confirmation_mail(uow: UnitOfWork, request: AccountRequest, link: str) -> OutgoingMail:
    hours = int(CONFIRMATION_VALIDITY.total_seconds() // 3600)
    body = (
        f"Dear {request.first_name} {request.last_name},\n\n"
        "Someone, hopefully you, asked your organisation for a MitID Erhverv user for this address.\n"
        f"Confirm the request here, and it goes to your organisation's user administrators:\n\n{link}\n\n"
        f"The link is valid for {hours} hours. If you did not ask, ignore this mail.\n"
    )
    return OutgoingMail(request.org_id, request.email, "Confirm your request for a MitID Erhverv user", body)


async def confirm_request(uow: UnitOfWork, request_id: uuid.UUID, token_hash: str) -> AccountRequest:
    """The link's token, once, before it expires and while the organisation still takes requests:
    the request is then PENDING, and the organisation's administrators are told."""
    request = await uow.account_requests.get(request_id, for_update=True)
    now = uow.platform.now()
    if (
        request is None or request.status is not S.PENDING_CONFIRMATION or request.token_hash != token_hash
        or request.token_expires_at is None or request.token_expires_at <= now
        or not (await uow.organisations.get_settings()).employees_may_request_user
    ):
        raise DomainError(E.INVALID_CONFIRMATION, "The confirmation link is invalid or has expired", ["token"])
    request.status, request.confirmed_at = S.PENDING, now
    request.token_hash = request.token_expires_at = None
    await uow.account_requests.save(request)
    name = f"{request.first_name} {request.last_name}"
    await record(uow, ActivityType.USER_ACCOUNT_REQUESTED, f"{name} requested a user account",
                 details={"requestId": str(request.id)})
    await notify_administrators_of(
        uow, uow.actor.org_id, ActivityType.USER_ACCOUNT_REQUESTED.value, "A request for a user account",
        f"{name} ({request.email}) asks for a MitID Erhverv user. Approve or reject it under user account requests.",
    )
    return request


async def _pending(uow: UnitOfWork, request_id: uuid.UUID) -> AccountRequest:
    request = await uow.account_requests.get(request_id, for_update=True)
    if request is None or request.status is S.PENDING_CONFIRMATION:
        raise NotFound("User account request", ["requestId"])
    if request.status is not S.PENDING:
        raise DomainError(E.ALREADY_DECIDED, f"The request has already been {request.status.value.lower()}",
                          ["requestId"])
    return request


@dataclass(slots=True)
class Approval:
    """What creating the user needs that the requester could not give: the identification (a CPR
    number or a date of birth) and, optionally, what createUser takes besides."""

    cpr: str | None = None
    date_of_birth: str | None = None
    phone: str | None = None
    p_number: str | None = None
    se_number: str | None = None
    authenticators: list[str] | None = None
    rights: list[str] | None = None
    reference: str | None = None


async def approve_request(uow: UnitOfWork, request_id: uuid.UUID, approval: Approval) -> tuple[AccountRequest, CreatedUser]:
    """Create the user with createUser's rules (a CPR user is mailed the activation link, a date-of-birth
    user gets a temporary code) and mark the request APPROVED."""
    request = await _pending(uow, request_id)
    created = await create_user(uow, NewUser(
        first_name=request.first_name, last_name=request.last_name, email=request.email, phone=approval.phone,
        cpr=approval.cpr, date_of_birth=approval.date_of_birth, authenticators=list(approval.authenticators or []),
        p_number=approval.p_number, se_number=approval.se_number, rights=list(approval.rights or []),
        reference=approval.reference,
    ))
    request.status, request.decided_at, request.decided_by = S.APPROVED, uow.platform.now(), uow.actor.user_id
    request.user_id = created.user.id
    await uow.account_requests.save(request)
    await record(uow, ActivityType.USER_ACCOUNT_REQUEST_APPROVED, "User account request approved",
                 target=created.user, details={"requestId": str(request.id)})
    return request, created


async def reject_request(uow: UnitOfWork, request_id: uuid.UUID, reason: str | None) -> AccountRequest:
    errors = Errors()
    reason = free_text(errors, "reason", reason, REASON_MAX)
    errors.raise_if_any()
    request = await _pending(uow, request_id)
    request.status, request.decided_at, request.decided_by = S.REJECTED, uow.platform.now(), uow.actor.user_id
    request.reject_reason = reason
    await uow.account_requests.save(request)
    name = f"{request.first_name} {request.last_name}"
    await record(uow, ActivityType.USER_ACCOUNT_REQUEST_REJECTED, f"User account request of {name} rejected",
                 details={"requestId": str(request.id)})
    org = await uow.organisations.get()
    body = (
        f"Dear {name},\n\n{org.name} has rejected your request for a MitID Erhverv user.\n"
        + (f"\nThe reason given:\n\n{reason}\n" if reason else "")
    )
    await uow.outbox.add(OutgoingMail(request.org_id, request.email, "Your request for a MitID Erhverv user", body))
    return request
