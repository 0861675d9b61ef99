"""The suppression list: addresses not to mail again, and why.

The database fills it (migration 0005's trigger on email_tracking): a hard bounce, a complaint
or an unsubscribe puts the recipient's address on the list, whoever recorded the event.
Operators add addresses by hand (`suppress`) and lift them (`lift`, after a confirmation in
the UI). core.recipients skips listed addresses when adding leads or importing a CSV.

Addresses are stored lower-cased (by PostgreSQL's lower(), which the table's CHECK also uses)
and compared case-insensitively: Jane@Example.com and jane@example.com are one address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.models import Campaign, CampaignRecipient, Suppression, SuppressionReason
from core.recipient_csv import email_problem
from core.search import campaign_key, check_limit, check_offset, like_pattern

__all__ = [
    "SuppressionRow",
    "count_suppressions",
    "is_suppressed",
    "lift",
    "list_suppressions",
    "suppress",
    "suppress_from_events",
    "suppressed_in_campaign",
]

S = Suppression
R = CampaignRecipient
REASONS: tuple[str, ...] = tuple(r.value for r in SuppressionReason)


@dataclass(frozen=True, slots=True)
class SuppressionRow:
    id: int
    email_address: str  # lower-cased
    reason: SuppressionReason
    source_event_id: int | None  # the event that listed it; None when manual or deleted
    campaign_id: int | None  # campaigns.id of that event's campaign
    campaign: str | None  # its campaign_id string
    created_at: datetime


_ROW_COLUMNS = (
    S.id,
    S.email_address,
    S.reason,
    S.source_event_id,
    S.campaign_id,
    Campaign.campaign_id,
    S.created_at,
)


def _address(email: object) -> str:
    if not isinstance(email, str):
        raise InvalidInput(f"An email address is text, not {email!r}.")
    address = email.strip()
    problem = email_problem(address)
    if problem is not None:
        raise InvalidInput(f"Can't suppress {address!r}: {problem}.")
    return address


def _addresses(emails: Iterable[str]) -> list[str]:
    if isinstance(emails, str | bytes):
        raise InvalidInput(f"Give a list of email addresses, not the single string {emails!r}.")
    out: dict[str, None] = {}
    for e in emails:
        if not isinstance(e, str) or "\x00" in e:
            raise InvalidInput(f"An email address is text without NUL characters, not {e!r}.")
        out[e] = None
    return list(out)


def list_suppressions(
    session: Session,
    *,
    search: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
    offset: int = 0,
) -> tuple[SuppressionRow, ...]:
    """Suppressed addresses in the order they were listed (by id); `search` is any part of an
    address, case-insensitive. Page on with after_id = the last row's id; offset skips that
    many rows first (an OFFSET on the primary key: for "last page" and "go to row N")."""
    check_limit(limit)
    check_offset(offset)
    stmt = select(*_ROW_COLUMNS).outerjoin(Campaign, Campaign.id == S.campaign_id)
    if search is not None and search.strip():
        stmt = stmt.where(S.email_address.ilike(like_pattern(search.strip()), escape="\\"))
    if after_id is not None:
        if isinstance(after_id, bool) or not isinstance(after_id, int):
            raise InvalidInput(f"after_id is a suppression id (a whole number), not {after_id!r}.")
        stmt = stmt.where(S.id > after_id)
    rows = session.execute(stmt.order_by(S.id).limit(limit).offset(offset or None))
    return tuple(SuppressionRow(*r) for r in rows)


def count_suppressions(session: Session, *, search: str | None = None) -> int:
    """How many addresses are listed (matching `search`, as in list_suppressions)."""
    stmt = select(func.count()).select_from(S)
    if search is not None and search.strip():
        stmt = stmt.where(S.email_address.ilike(like_pattern(search.strip()), escape="\\"))
    return int(session.scalar(stmt) or 0)


def is_suppressed(session: Session, emails: Iterable[str]) -> set[str]:
    """The addresses among `emails` (spelt as given) that are on the list, in any case."""
    given = _addresses(emails)
    if not given:
        return set()
    stmt = text(
        "SELECT e FROM unnest(CAST(:emails AS text[])) AS e"
        " WHERE EXISTS (SELECT 1 FROM suppressions s WHERE s.email_address = lower(e))"
    )
    return set(session.scalars(stmt, {"emails": given}))


def suppress(session: Session, email: str, reason: str = "manual") -> bool:
    """Put an address on the list; False when it already was (its first reason is kept).
    InvalidInput for a malformed address or an unknown reason."""
    address = _address(email)
    if reason not in REASONS:
        allowed = ", ".join(REASONS)
        raise InvalidInput(f"Unknown suppression reason {reason!r}; use one of: {allowed}.")
    stmt = text(
        "INSERT INTO suppressions (email_address, reason) VALUES (lower(:email), :reason)"
        " ON CONFLICT (email_address) DO NOTHING RETURNING id"
    )
    return session.execute(stmt, {"email": address, "reason": reason}).first() is not None


# Migration 0005's trigger runs this over each statement's new events; here over stored ones.
_FROM_EVENTS = """
    INSERT INTO suppressions (email_address, reason, source_event_id, campaign_id)
    SELECT lower(r.email_address),
           CASE e.event_type WHEN 'bounce' THEN 'hard_bounce'
                             WHEN 'complain' THEN 'complaint'
                             ELSE 'unsubscribe' END,
           e.id, r.campaign_id
    FROM email_tracking e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
    WHERE (e.event_type IN ('complain', 'unsubscribe')
           OR (e.event_type = 'bounce'
               AND lower(e.event_data ->> 'bounce_type') IN ('hard', 'permanent')))
      /*campaign*/
    ORDER BY e.id
    ON CONFLICT (email_address) DO NOTHING
"""


def suppress_from_events(session: Session, campaign: int | str | None = None) -> int:
    """List the addresses of stored hard bounces, complaints and unsubscribes (of one campaign
    or all) that aren't listed yet; returns how many were added. The trigger does this for
    every new event; this is for events loaded with triggers off (a bulk COPY in replica
    mode, say). It also lists again addresses an operator lifted whose events are stored: run
    it after a bulk load, not routinely."""
    where, params = "", {}
    if campaign is not None:
        params["campaign_pk"], _ = campaign_key(session, campaign)
        where = "AND r.campaign_id = :campaign_pk"
    return session.execute(text(_FROM_EVENTS.replace("/*campaign*/", where)), params).rowcount


def lift(session: Session, email: str) -> bool:
    """Take an address off the list (the UI asks for confirmation first); False when it was
    not listed. Its next hard bounce, complaint or unsubscribe lists it again."""
    if not isinstance(email, str) or "\x00" in email:
        raise InvalidInput(f"An email address is text without NUL characters, not {email!r}.")
    stmt = text("DELETE FROM suppressions WHERE email_address = lower(:email) RETURNING id")
    return session.execute(stmt, {"email": email.strip()}).first() is not None


def suppressed_in_campaign(
    session: Session, campaign: int | str, recipient_ids: Iterable[int]
) -> set[int]:
    """Which of these recipients of the campaign have a suppressed address (for marking the
    rows of a page). Ids of other campaigns' recipients are ignored. Raises NotFound."""
    if isinstance(recipient_ids, str | bytes):
        raise InvalidInput("Recipient ids are a list of whole numbers.")
    ids = []
    for rid in recipient_ids:
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise InvalidInput(f"Recipient ids are whole numbers; {rid!r} is not.")
        ids.append(rid)
    campaign_pk, _ = campaign_key(session, campaign)
    if not ids:
        return set()
    stmt = (
        select(R.id)
        .join(S, S.email_address == func.lower(R.email_address))
        .where(
            R.campaign_id == campaign_pk,
            R.id == func.any(bindparam("ids", ids, type_=ARRAY(Integer))),
        )
    )
    return set(session.scalars(stmt))
