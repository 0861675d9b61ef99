"""Recipients through a send: claimed by a sender (suppression holds here, at send time),
then marked sent, failed or bounced; failed ones go back to pending to be tried again.

A sender that names itself (`owner`) leases what it claims until `lease` from now
(lease_owner, lease_expires_at, migration 0012): a queued recipient whose lease expired (its
sender died) is claimed again, and a pending one waits until its next_attempt_at (a temporary
failure's backoff, core.delivery). Marking a recipient sent, failed or bounced ends its lease.

Every write is one set-based statement in the caller's transaction; counters on campaigns
follow from the rows by the database's triggers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select, text, update
from sqlalchemy.orm import Session

import core.recipients.suppression as suppression
from core.campaigns import resolve_campaign
from core.errors import InvalidInput
from core.recipients.checks import RS, R, checked_ids, error_text, id_array, open_campaign
from core.store import CampaignRecipient, CampaignStatus, RecipientStatus, rows_written
from core.times import check_aware

CLAIM_MAX = 10_000
MAX_OWNER_CHARS = 200
_NO_LEASE = {"lease_owner": None, "lease_expires_at": None, "next_attempt_at": None}


@dataclass(frozen=True, slots=True)
class ClaimedRecipient:
    id: int
    email_address: str
    lead_id: int
    attempts: int = 0  # delivery attempts made before this claim (send_attempts)


def _due() -> ColumnElement[bool]:
    return (R.next_attempt_at.is_(None)) | (R.next_attempt_at <= func.now())


def claim_batch(
    session: Session,
    campaign: int | str,
    n: int,
    *,
    owner: str | None = None,
    lease: timedelta | None = None,
) -> tuple[ClaimedRecipient, ...]:
    """Up to n pending recipients, now queued for this sender; () unless the campaign runs.

    With `owner` (a sender's id) and `lease`, the rows are leased to it until `lease` from
    now, and queued recipients whose lease has expired are taken first; each counts the
    attempt about to be made (send_attempts + 1; ClaimedRecipient.attempts is the count
    before it). Pending recipients whose next_attempt_at is still to come are not taken.

    Rows another sender holds are skipped (FOR UPDATE SKIP LOCKED), so concurrent senders
    never get the same recipient. Suppression holds here, at send time: a picked recipient
    whose address is on the list now (core.recipients.suppression, compared by address_key) is never
    queued; it becomes unsubscribed (listed for an unsubscribe or a complaint) or failed
    (a hard bounce, or listed by hand), with "suppressed: <reason>" as its error, and the
    next pending one is picked in its place.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= CLAIM_MAX:
        raise InvalidInput(f"A batch is 1 to {CLAIM_MAX} recipients, not {n!r}.")
    if (owner is None) != (lease is None):
        raise InvalidInput("A lease needs both its owner and its length.")
    if owner is not None and (not isinstance(owner, str) or not 1 <= len(owner) <= MAX_OWNER_CHARS):
        raise InvalidInput(f"A lease owner is 1 to {MAX_OWNER_CHARS} characters.")
    if lease is not None and not timedelta(seconds=1) <= lease <= timedelta(days=1):
        raise InvalidInput("A lease lasts from 1 second to 1 day.")
    c = resolve_campaign(session, campaign)
    if c.status != CampaignStatus.RUNNING:
        return ()
    suppression.key_pending(session)
    claimed: list[ClaimedRecipient] = []
    wheres = [(R.status == RS.PENDING.value, _due())]
    if owner is not None:  # expired leases first: their senders are gone
        wheres.insert(0, (R.status == RS.QUEUED.value, R.lease_expires_at < func.now()))
    for where in wheres:
        while len(claimed) < n:
            wanted = n - len(claimed)
            pick = (
                select(R.id, R.email_address)
                .where(R.campaign_id == c.id, *where)
                .order_by(R.id)
                .limit(wanted)
                .with_for_update(skip_locked=True)
            )
            picked = session.execute(pick).all()
            if not picked:
                break
            listed = suppression.suppressed_among(session, picked)
            claimed.extend(_queue(session, [rid for rid, _ in picked], listed, owner, lease))
            if len(picked) < wanted:
                break  # none left of this kind that another sender doesn't hold
    return tuple(sorted(claimed, key=lambda r: r.id))


_SUPPRESSED_STATUS = {"unsubscribe": RS.UNSUBSCRIBED.value, "complaint": RS.UNSUBSCRIBED.value}
# One statement for the picked rows (locked by the caller): queued, or refused as suppressed.
# A queued row is leased when the claim names an owner, and counts the attempt its sender is
# about to make (send_attempts + 1: one write a message, not two); a refused one holds no lease.
_QUEUE = text(
    "UPDATE campaign_recipients r SET status = x.status,"
    " error_message = coalesce('suppressed: ' || x.reason, r.error_message),"
    " lease_owner = CASE WHEN x.reason IS NULL THEN CAST(:owner AS text) END,"
    " lease_expires_at = CASE WHEN x.reason IS NULL AND CAST(:owner AS text) IS NOT NULL"
    "   THEN now() + CAST(:lease AS interval) END,"
    " send_attempts = r.send_attempts"
    "   + CASE WHEN x.reason IS NULL AND CAST(:owner AS text) IS NOT NULL THEN 1 ELSE 0 END,"
    " next_attempt_at = NULL"
    " FROM unnest(CAST(:ids AS int[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]))"
    " AS x(id, status, reason) WHERE r.id = x.id"
    " RETURNING r.id, r.email_address, r.lead_id, r.send_attempts, x.status"
)


def _queue(
    session: Session,
    ids: list[int],
    listed: dict[int, str],
    owner: str | None,
    lease: timedelta | None,
) -> list[ClaimedRecipient]:
    reasons = [listed.get(i) for i in ids]
    statuses = [
        RS.QUEUED.value if r is None else _SUPPRESSED_STATUS.get(r, RS.FAILED.value)
        for r in reasons
    ]
    params = {"ids": ids, "statuses": statuses, "reasons": reasons, "owner": owner}
    params["lease"] = lease
    rows = session.execute(_QUEUE, params)
    counted = 1 if owner is not None else 0  # the attempt a leasing sender is about to make
    return [
        ClaimedRecipient(r[0], r[1], r[2], r[3] - counted) for r in rows if r[4] == RS.QUEUED.value
    ]


def _at(at: datetime | None) -> ColumnElement[datetime] | datetime:
    return func.now() if at is None else check_aware(at, "The time")


def _mark(
    session: Session, ids: list[int], only: tuple[RecipientStatus, ...] | None, **values: Any
) -> int:
    """Set `values` on these recipients (those in a status of `only`, if given); how many."""
    if not ids:
        return 0
    where = [R.id == func.any(id_array("ids", ids))]
    if only is not None:
        where.append(R.status.in_([s.value for s in only]))
    return rows_written(session, update(CampaignRecipient.__table__).where(*where).values(values))


def mark_sent(session: Session, recipient_ids: Iterable[int], *, at: datetime | None = None) -> int:
    """Pending, queued or failed recipients become sent (sent_at: the first time wins; the
    transaction's time when `at` is None). Bounced/unsubscribed ones are left as they are.
    Returns how many rows were marked."""
    ids = checked_ids(recipient_ids, "Recipient ids")
    when = _at(at)
    return _mark(
        session,
        ids,
        (RS.PENDING, RS.QUEUED, RS.FAILED, RS.SENT),
        status=RS.SENT.value,
        sent_at=func.coalesce(R.sent_at, when),
        error_message=None,
        **_NO_LEASE,
    )


def mark_failed(session: Session, recipient_ids: Iterable[int], error: str) -> int:
    """Pending or queued recipients whose sending failed become failed, with the error.
    Recipients already sent, bounced or unsubscribed are left alone. Returns rows marked."""
    ids = checked_ids(recipient_ids, "Recipient ids")
    error = error_text(error)
    return _mark(
        session,
        ids,
        (RS.PENDING, RS.QUEUED, RS.FAILED),
        status=RS.FAILED.value,
        error_message=error,
        **_NO_LEASE,
    )


def mark_bounced(
    session: Session, recipient_ids: Iterable[int], error: str, *, at: datetime | None = None
) -> int:
    """Recipients whose mail bounced: status bounced, bounced_at (first time wins), the error.
    Unsubscribed recipients keep that status (it says more) but get bounced_at and the error.
    Returns rows marked."""
    ids = checked_ids(recipient_ids, "Recipient ids")
    error = error_text(error)
    when = _at(at)
    status = case((R.status == RS.UNSUBSCRIBED.value, R.status), else_=literal(RS.BOUNCED.value))
    return _mark(
        session,
        ids,
        None,
        status=status,
        bounced_at=func.coalesce(R.bounced_at, when),
        error_message=error,
        **_NO_LEASE,
    )


def retry_failed(session: Session, campaign: int | str) -> int:
    """Failed recipients of the campaign go back to pending (error cleared, their attempts
    counted from 0 again) to be claimed again. Refused once the campaign has ended. Returns
    how many."""
    c = open_campaign(session, campaign, "retry recipients of")
    stmt = (
        update(CampaignRecipient.__table__)
        .where(R.campaign_id == c.id, R.status == RS.FAILED.value)
        .values(status=RS.PENDING.value, error_message=None, send_attempts=0, **_NO_LEASE)
    )
    return rows_written(session, stmt)
