"""Recipients through a send: claimed by a sender (suppression holds here, at send time),
then marked sent, failed or bounced; failed ones go back to pending to be tried again.

Every write is one set-based statement in the caller's transaction; counters on campaigns
follow from the rows by the database's triggers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class ClaimedRecipient:
    id: int
    email_address: str
    lead_id: int


def claim_batch(session: Session, campaign: int | str, n: int) -> tuple[ClaimedRecipient, ...]:
    """Up to n pending recipients, now queued for this sender; () unless the campaign runs.

    Rows another sender holds are skipped (FOR UPDATE SKIP LOCKED), so concurrent senders
    never get the same recipient. Suppression holds here, at send time: a picked recipient
    whose address is on the list now (core.recipients.suppression, compared by address_key) is never
    queued; it becomes unsubscribed (listed for an unsubscribe or a complaint) or failed
    (a hard bounce, or listed by hand), with "suppressed: <reason>" as its error, and the
    next pending one is picked in its place.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= CLAIM_MAX:
        raise InvalidInput(f"A batch is 1 to {CLAIM_MAX} recipients, not {n!r}.")
    c = resolve_campaign(session, campaign)
    if c.status != CampaignStatus.RUNNING:
        return ()
    suppression.key_pending(session)
    claimed: list[ClaimedRecipient] = []
    while len(claimed) < n:
        wanted = n - len(claimed)
        pick = (
            select(R.id, R.email_address)
            .where(R.campaign_id == c.id, R.status == RS.PENDING.value)
            .order_by(R.id)
            .limit(wanted)
            .with_for_update(skip_locked=True)
        )
        picked = session.execute(pick).all()
        if not picked:
            break
        listed = suppression.suppressed_among(session, picked)
        claimed.extend(_queue(session, [rid for rid, _ in picked], listed))
        if len(picked) < wanted:
            break  # no pending recipient left that another sender doesn't hold
    return tuple(sorted(claimed, key=lambda r: r.id))


_SUPPRESSED_STATUS = {"unsubscribe": RS.UNSUBSCRIBED.value, "complaint": RS.UNSUBSCRIBED.value}
# One statement for the picked rows (locked by the caller): queued, or refused as suppressed.
_QUEUE = text(
    "UPDATE campaign_recipients r SET status = x.status,"
    " error_message = coalesce('suppressed: ' || x.reason, r.error_message)"
    " FROM unnest(CAST(:ids AS int[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]))"
    " AS x(id, status, reason) WHERE r.id = x.id"
    " RETURNING r.id, r.email_address, r.lead_id, x.status"
)


def _queue(session: Session, ids: list[int], listed: dict[int, str]) -> list[ClaimedRecipient]:
    reasons = [listed.get(i) for i in ids]
    statuses = [
        RS.QUEUED.value if r is None else _SUPPRESSED_STATUS.get(r, RS.FAILED.value)
        for r in reasons
    ]
    rows = session.execute(_QUEUE, {"ids": ids, "statuses": statuses, "reasons": reasons})
    return [ClaimedRecipient(*r[:3]) for r in rows if r[3] == RS.QUEUED.value]


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
    )


def retry_failed(session: Session, campaign: int | str) -> int:
    """Failed recipients of the campaign go back to pending (error cleared) to be claimed
    again. Refused once the campaign has ended. Returns how many."""
    c = open_campaign(session, campaign, "retry recipients of")
    stmt = (
        update(CampaignRecipient.__table__)
        .where(R.campaign_id == c.id, R.status == RS.FAILED.value)
        .values(status=RS.PENDING.value, error_message=None)
    )
    return rows_written(session, stmt)
