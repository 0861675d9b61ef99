"""Recording one email event, and the effect of an event on its recipient row.

Effects (DESIGN.md, "Data rules"): every event is stored in email_tracking; the first
open/click/reply/bounce sets the recipient's timestamp and later ones never move it (within
one batch the earliest timestamp is the first); a click also sets opened_at when no open was
seen; a bounce sets status 'bounced' and error_message; unsubscribe and complain set
'unsubscribed'. Campaign counters follow from the recipient rows by database triggers.

The write paths are set-based SQL with bound parameters (no per-row ORM objects): a single
event is one statement (here); a batch is one SELECT resolving its recipients plus one
statement inserting every event and updating every affected recipient (core.events.batch,
which shares the lookup of recipients by (campaign, email) below). Nothing commits here.

Opens and clicks are classified human or machine on the way in (core.events.machine): the
rules that look at the event alone run in prepare(), "too-fast" (which needs the recipient's
sent_at) in the single statement, or on the sent_at the batch's recipient lookup reads anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

import core.events.machine as machine
from core.errors import InvalidInput
from core.events.dedup import ON_CONFLICT, stored_id
from core.events.input import (
    NEEDS_SENT,
    STATUS,
    TIMESTAMPS,
    EventInput,
    Prepared,
    Rejected,
    never_sent,
    prepare,
    unknown_recipient_id,
)
from core.store import EventType

# --- one event -------------------------------------------------------------------------------

_INSERT_ONE = """
    INSERT INTO email_tracking
        (campaign_recipient_id, event_type, event_data, user_agent, ip_address, created_at,
         source, dedup_key)
    SELECT target.id, :event_type, {event_data}, :user_agent,
           CAST(:ip_address AS inet), COALESCE(CAST(:created_at AS timestamptz), now()),
           CAST(:source AS text), CAST(:dedup_key AS text)
    FROM target {guard} {conflict}
    RETURNING id, campaign_recipient_id, created_at
"""
_TARGET_BY_ID = "SELECT id, sent_at FROM campaign_recipients WHERE id = :recipient_id"
# LIMIT 2 and the guard: an (campaign, email) pair naming two rows records nothing.
_TARGET_BY_EMAIL = """
    SELECT r.id, r.sent_at FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
    WHERE c.campaign_id = :campaign AND r.email_address = :email_address LIMIT 2
"""
_GUARD = "WHERE (SELECT count(*) FROM target) = 1"


def _single_statement(event_type: str, by_id: bool, keyed: bool) -> TextClause:
    sets, changes = [], []
    for column in TIMESTAMPS.get(event_type, ()):
        sets.append(f"{column} = COALESCE(r.{column}, ins.created_at)")
        changes.append(f"r.{column} IS NULL")
    status = STATUS.get(event_type)
    if status:
        sets.append(f"status = '{status}'")
        changes.append(f"r.status <> '{status}'")
    if event_type == EventType.BOUNCE:
        sets.append("error_message = CAST(:error_message AS text)")
        changes.append("r.error_message IS DISTINCT FROM CAST(:error_message AS text)")
    target = _TARGET_BY_ID if by_id else _TARGET_BY_EMAIL
    guard = "" if by_id else _GUARD
    if event_type in NEEDS_SENT:  # only a message sent can be opened, clicked, replied to
        guard += (" AND " if guard else "WHERE ") + "target.sent_at IS NOT NULL"
    data = (
        machine.TOO_FAST_EVENT_DATA_SQL
        if event_type in machine.CLASSIFIED_TYPES
        else "CAST(:event_data AS jsonb)"
    )
    insert = _INSERT_ONE.format(guard=guard, event_data=data, conflict=ON_CONFLICT if keyed else "")
    sql = f"WITH target AS ({target}),\nins AS ({insert})"
    if sets:
        # Skipping rows that wouldn't change spares a row version and the index entries.
        sql += f""",
upd AS (
    UPDATE campaign_recipients r SET {", ".join(sets)}, updated_at = now()
    FROM ins WHERE r.id = ins.campaign_recipient_id AND ({" OR ".join(changes)})
)"""
    return text(sql + "\nSELECT id FROM ins")


_SINGLE = {
    (t.value, by_id, keyed): _single_statement(t, by_id, keyed)
    for t in EventType
    for by_id in (True, False)
    for keyed in (True, False)
}


def record_event(
    session: Session, event: EventInput, *, settings: machine.Settings | None = None
) -> int:
    """Store one event and apply its effect; returns the new email_tracking id (for an event
    whose dedup_key is stored already: that event's id, and nothing is written).

    Opens and clicks are classified by core.events.machine's rules (`settings`: its thresholds,
    default machine.current_settings()). Raises InvalidInput (nothing written) for an unknown
    type or recipient, a bad IP address, event_data that isn't a JSON object of at most
    16 KiB, or a time without a zone."""
    try:
        p = prepare(event)
        if p.dedup_key is not None:
            existing = stored_id(session, p.dedup_key)
            if existing is not None:
                return existing
        params: dict[str, object] = {
            "event_type": p.event_type,
            "event_data": p.event_data,
            "user_agent": p.user_agent,
            "ip_address": p.ip_address,
            "created_at": p.created_at,
            "source": p.source,
            "dedup_key": p.dedup_key,
        }
        if p.recipient_id is not None:
            params["recipient_id"] = p.recipient_id
        elif p.recipient_key is not None:
            params["campaign"], params["email_address"] = p.recipient_key
        if p.error_message is not None:
            params["error_message"] = p.error_message
        if p.event_type in machine.CLASSIFIED_TYPES:
            seconds = None
            if p.machine_reason is None:
                window = (settings or machine.current_settings()).window(p.event_type)
                seconds = window.total_seconds() if window else None
            params["too_fast"] = seconds
        new_id = session.execute(
            _SINGLE[p.event_type, p.recipient_id is not None, p.dedup_key is not None], params
        ).scalar_one_or_none()
        if new_id is None and p.dedup_key is not None:
            new_id = stored_id(session, p.dedup_key)  # a writer racing this one stored it
        if new_id is None:
            raise Rejected(_why_unresolved(session, p))
    except Rejected as exc:
        raise InvalidInput(f"Event not recorded: {exc}.") from None
    return new_id


def _why_unresolved(session: Session, p: Prepared) -> str:
    rid, key = p.recipient_id, p.recipient_key
    if key is not None:
        matches = resolve_pairs(session, [key]).get(key, [])
        if len(matches) != 1:
            return pair_problem(session, *key, matches)
        rid = matches[0]
    assert rid is not None  # prepare() names every recipient by id or by (campaign, email)
    target = session.execute(text(_TARGET_BY_ID), {"recipient_id": rid}).first()
    if target is None:
        return unknown_recipient_id(rid)
    if target.sent_at is None and p.event_type in NEEDS_SENT:
        return never_sent(p.event_type, rid)
    return unknown_recipient_id(rid)  # not reached: the insert found it


# --- recipients named by (campaign, email address), for both paths --------------------------

RESOLVE_PAIRS = """
    SELECT r.id, k.campaign, k.email_address, now() AS now, r.sent_at, r.campaign_id
    FROM unnest(CAST(:campaigns AS text[]), CAST(:emails AS text[])) AS k(campaign, email_address)
    JOIN campaigns c ON c.campaign_id = k.campaign
    JOIN campaign_recipients r ON r.campaign_id = c.id AND r.email_address = k.email_address
"""
_RESOLVE_PAIRS = text(RESOLVE_PAIRS)


def resolve_pairs(
    session: Session, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], list[int]]:
    """The recipient ids each (campaign_id, email address) names (none, one, or several)."""
    found: dict[tuple[str, str], list[int]] = {}
    params = {"campaigns": [c for c, _ in pairs], "emails": [e for _, e in pairs]}
    for rid, campaign, email, *_ in session.execute(_RESOLVE_PAIRS, params):
        found.setdefault((campaign, email), []).append(rid)
    return found


def pair_problem(session: Session, campaign: str, email: str, matches: Sequence[int]) -> str:
    """Why (campaign, email) names no single recipient: several rows, no campaign, no such
    recipient."""
    if matches:
        return (
            f"{email!r} names {len(matches)} recipients of campaign {campaign!r}; "
            "name the recipient by recipient_id instead"
        )
    exists = session.execute(
        text("SELECT 1 FROM campaigns WHERE campaign_id = :c"), {"c": campaign}
    ).first()
    if exists is None:
        return f"no campaign {campaign!r}"
    return f"no recipient {email!r} in campaign {campaign!r}"
