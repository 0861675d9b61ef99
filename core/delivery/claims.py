"""A batch for the sender: claimed recipients (leased to it) with their messages built and
serialized, in one transaction; and the database reads the sender's loop makes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns import resolve_campaign
from core.delivery.settings import MessageSource
from core.errors import CampaignConsoleError
from core.recipients import ClaimedRecipient, claim_batch, mark_failed
from core.store import CampaignStatus


@dataclass(frozen=True, slots=True)
class Item:
    """A recipient ready to go: the envelope and the message as the relay gets it."""

    campaign_pk: int
    recipient: ClaimedRecipient
    envelope_from: str
    data: bytes


def envelope_from(message: EmailMessage) -> str | None:
    """The Return-Path's address (the header is then taken off), else the From's."""
    for name in ("Return-Path", "From"):
        values = message.get_all(name) or []
        found = [addr for _, addr in getaddresses([str(v) for v in values]) if addr]
        if found:
            if name == "Return-Path":
                del message["Return-Path"]
            return found[0]
    return None


def serialized(message: EmailMessage) -> bytes:
    """The message as the relay gets it: its own policy's headers, CRLF line ends (a policy
    of its own would fold every header again, several times slower)."""
    out = io.BytesIO()
    BytesGenerator(out, policy=message.policy.clone(linesep="\r\n")).flatten(message)
    return out.getvalue()


def claim_items(
    session: Session,
    campaign_pk: int,
    n: int,
    *,
    owner: str,
    lease_s: float,
    source: MessageSource,
) -> tuple[list[Item], int]:
    """Up to n recipients leased to `owner`, each with its message; and how many failed
    because their message could not be built (marked failed with why)."""
    claimed = claim_batch(session, campaign_pk, n, owner=owner, lease=timedelta(seconds=lease_s))
    items: list[Item] = []
    failed = 0
    for r in claimed:
        try:
            message = source(session, campaign_pk, r)
            sender = envelope_from(message)
            if sender is None:
                raise CampaignConsoleError("the message has no Return-Path or From address")
            data = serialized(message)
        except CampaignConsoleError as exc:
            failed += mark_failed(session, [r.id], f"message not built: {exc}")
            continue
        items.append(Item(campaign_pk, r, sender, data))
    return items, failed


_RUNNING = text("SELECT id FROM campaigns WHERE status = 'running' ORDER BY id")
_STATUSES = text("SELECT id, status FROM campaigns WHERE id = ANY(CAST(:ids AS int[]))")
_WORK_LEFT = text(
    "SELECT EXISTS (SELECT 1 FROM campaign_recipients r"
    " WHERE r.campaign_id = ANY(CAST(:ids AS int[])) AND r.status IN ('pending', 'queued'))"
)


def running_campaigns(session: Session, only: tuple[int | str, ...]) -> list[int]:
    """Row ids of the running campaigns (of `only`, when given: each must exist)."""
    if not only:
        return list(session.scalars(_RUNNING))
    wanted = [resolve_campaign(session, c) for c in only]
    return sorted({c.id for c in wanted if c.status == CampaignStatus.RUNNING})


def statuses(session: Session, campaign_pks: list[int]) -> dict[int, str]:
    return {pk: str(status) for pk, status in session.execute(_STATUSES, {"ids": campaign_pks})}


def work_left(session: Session, campaign_pks: list[int]) -> bool:
    """Does any of these campaigns have recipients pending (or waiting to be retried) or
    queued (by anyone)?"""
    return bool(campaign_pks) and bool(session.scalar(_WORK_LEFT, {"ids": campaign_pks}))
