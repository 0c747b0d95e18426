"""Outgoing mail, written to the outbox in the transaction of the change that sends it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class OutgoingMail:
    org_id: int | None
    recipient: str
    subject: str
    body: str
