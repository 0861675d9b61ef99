"""Recording email events (one or a batch) and their effect on the recipient row.

Effects (DESIGN.md, "Data rules"): every event is stored in email_tracking; the first
open/click/reply/bounce sets the recipient's timestamp and later ones never move it (within
one batch the earliest timestamp is the first); a click also sets opened_at when no open was
seen; a bounce sets status 'bounced' and error_message; unsubscribe and complain set
'unsubscribed'. Campaign counters follow from the recipient rows by database triggers.

The write paths are set-based SQL with bound parameters (no per-row ORM objects): a single
event is one statement, a batch is one SELECT resolving its recipients plus one statement
inserting every event and updating every affected recipient. Nothing commits here.

Opens and clicks are classified human or machine on the way in (core.events.machine): the rules that
look at the event alone run in prepare(), "too-fast" (which needs the recipient's sent_at) in
the single statement, or on the sent_at the batch's recipient lookup reads anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.events import machine
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

_MAX_LISTED = 10  # problems spelled out in one error message


@dataclass(frozen=True, slots=True)
class LineError:
    """An event that was not recorded: its line (as given, else its position from 1) and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    recorded: int
    rejected: tuple[LineError, ...] = ()


class InvalidEvents(InvalidInput):
    """A batch refused as a whole; `rejected` lists every bad event (nothing was written)."""

    def __init__(self, message: str, rejected: tuple[LineError, ...]):
        super().__init__(message)
        self.rejected = rejected


# --- one event -------------------------------------------------------------------------------

_INSERT_ONE = """
    INSERT INTO email_tracking
        (campaign_recipient_id, event_type, event_data, user_agent, ip_address, created_at)
    SELECT target.id, :event_type, {event_data}, :user_agent,
           CAST(:ip_address AS inet), COALESCE(CAST(:created_at AS timestamptz), now())
    FROM target {guard}
    RETURNING id, campaign_recipient_id, created_at
"""
_TARGET_BY_ID = "SELECT id, sent_at FROM campaign_recipients WHERE id = :recipient_id"
# LIMIT 2 and the guard: an (campaign, email) pair naming two rows records nothing.
_TARGET_BY_EMAIL = """
    SELECT r.id, r.sent_at FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
    WHERE c.campaign_id = :campaign AND r.email_address = :email_address LIMIT 2
"""
_GUARD = "WHERE (SELECT count(*) FROM target) = 1"


def _single_statement(event_type: str, by_id: bool) -> TextClause:
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
    insert = _INSERT_ONE.format(guard=guard, event_data=data)
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
    (t.value, by_id): _single_statement(t, by_id) for t in EventType for by_id in (True, False)
}


def record_event(
    session: Session, event: EventInput, *, settings: machine.Settings | None = None
) -> int:
    """Store one event and apply its effect; returns the new email_tracking id.

    Opens and clicks are classified by core.events.machine's rules (`settings`: its thresholds,
    default machine.current_settings()). Raises InvalidInput (nothing written) for an unknown
    type or recipient, a bad IP address, event_data that isn't a JSON object of at most
    16 KiB, or a time without a zone."""
    try:
        p = prepare(event)
        params = {
            "event_type": p.event_type,
            "event_data": p.event_data,
            "user_agent": p.user_agent,
            "ip_address": p.ip_address,
            "created_at": p.created_at,
        }
        if p.recipient_id is not None:
            params["recipient_id"] = p.recipient_id
        else:
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
            _SINGLE[p.event_type, p.recipient_id is not None], params
        ).scalar_one_or_none()
        if new_id is None:
            raise Rejected(_why_unresolved(session, p))
    except Rejected as exc:
        raise InvalidInput(f"Event not recorded: {exc}.") from None
    return new_id


def _why_unresolved(session: Session, p: Prepared) -> str:
    if p.recipient_id is not None:
        matches = list(session.execute(text(_TARGET_BY_ID), {"recipient_id": p.recipient_id}))
        if not matches:
            return unknown_recipient_id(p.recipient_id)
    else:
        campaign, email = p.recipient_key
        found = _resolve_pairs(session, [(campaign, email)])
        matches = found.get((campaign, email), [])
        if len(matches) != 1:
            return _pair_problem(session, campaign, email, matches)
        matches = list(session.execute(text(_TARGET_BY_ID), {"recipient_id": matches[0]}))
    (rid, sent_at), *_ = matches
    if sent_at is None and p.event_type in NEEDS_SENT:
        return never_sent(p.event_type, rid)
    return unknown_recipient_id(rid)  # not reached: the insert found it


# --- a batch ---------------------------------------------------------------------------------

_RESOLVE_IDS = """
    SELECT id, NULL AS campaign, NULL AS email_address, now() AS now, sent_at
    FROM campaign_recipients WHERE id = ANY(CAST(:ids AS int[]))
"""
_RESOLVE_PAIRS = """
    SELECT r.id, k.campaign, k.email_address, now() AS now, r.sent_at
    FROM unnest(CAST(:campaigns AS text[]), CAST(:emails AS text[])) AS k(campaign, email_address)
    JOIN campaigns c ON c.campaign_id = k.campaign
    JOIN campaign_recipients r ON r.campaign_id = c.id AND r.email_address = k.email_address
"""
_RESOLVE = {
    (True, False): text(_RESOLVE_IDS),
    (False, True): text(_RESOLVE_PAIRS),
    (True, True): text(f"{_RESOLVE_IDS} UNION ALL {_RESOLVE_PAIRS}"),
}

_INSERT_MANY = """
    INSERT INTO email_tracking
        (campaign_recipient_id, event_type, event_data, user_agent, ip_address, created_at)
    SELECT * FROM unnest(
        CAST(:rid AS int[]), CAST(:event_type AS text[]), CAST(:event_data AS jsonb[]),
        CAST(:user_agent AS text[]), CAST(:ip_address AS inet[]),
        CAST(:created_at AS timestamptz[]))
"""
# One row per affected recipient, already reduced: the earliest timestamp of each kind, the
# status and bounce error of its latest status-setting event. Rows are sorted by id, so
# concurrent batches lock recipients in the same order.
_APPLY_EFFECTS = """
    UPDATE campaign_recipients AS r SET
        opened_at = COALESCE(r.opened_at, f.opened_at),
        clicked_at = COALESCE(r.clicked_at, f.clicked_at),
        replied_at = COALESCE(r.replied_at, f.replied_at),
        bounced_at = COALESCE(r.bounced_at, f.bounced_at),
        status = COALESCE(f.status, r.status),
        error_message = COALESCE(f.error_message, r.error_message),
        updated_at = now()
    FROM unnest(
        CAST(:f_rid AS int[]), CAST(:f_opened AS timestamptz[]),
        CAST(:f_clicked AS timestamptz[]), CAST(:f_replied AS timestamptz[]),
        CAST(:f_bounced AS timestamptz[]), CAST(:f_status AS text[]), CAST(:f_error AS text[])
    ) AS f(rid, opened_at, clicked_at, replied_at, bounced_at, status, error_message)
    WHERE r.id = f.rid AND (
        (r.opened_at IS NULL AND f.opened_at IS NOT NULL)
        OR (r.clicked_at IS NULL AND f.clicked_at IS NOT NULL)
        OR (r.replied_at IS NULL AND f.replied_at IS NOT NULL)
        OR (r.bounced_at IS NULL AND f.bounced_at IS NOT NULL)
        OR f.status <> r.status
        OR (f.error_message IS NOT NULL AND f.error_message IS DISTINCT FROM r.error_message))
"""
_WRITE_ONLY = text(_INSERT_MANY)
_WRITE_AND_APPLY = text(f"WITH ins AS ({_INSERT_MANY})\n{_APPLY_EFFECTS}")

_LOCK_RECIPIENTS = text(
    "SELECT id FROM campaign_recipients WHERE id = ANY(CAST(:rid AS int[]))"
    " ORDER BY id FOR NO KEY UPDATE"
)
_LOCK_CAMPAIGNS = text(
    "SELECT c.id FROM campaigns c WHERE c.id IN (SELECT r.campaign_id FROM campaign_recipients r"
    " WHERE r.id = ANY(CAST(:rid AS int[]))) ORDER BY c.id FOR NO KEY UPDATE OF c"
)
_EFFECT_SLOT = {"opened_at": 0, "clicked_at": 1, "replied_at": 2, "bounced_at": 3}


def record_events(
    session: Session,
    events: Iterable[EventInput],
    *,
    lines: Sequence[int] | None = None,
    skip_invalid: bool = False,
    settings: machine.Settings | None = None,
) -> BatchResult:
    """Store a batch of events and apply their effects, as one unit.

    Lines are each event's number in `lines` (a file's line numbers, one per event, rising),
    else its 1-based position in `events`. By default any bad event raises InvalidEvents
    (an InvalidInput naming every bad line) and nothing is written; with skip_invalid the good
    events are written and the bad ones returned in BatchResult.rejected. Opens and clicks
    are classified as in record_event."""
    rejected: list[LineError] = []
    checked: list[tuple[int, Prepared]] = []
    numbered: Iterable[tuple[int, EventInput]] = (
        enumerate(events, 1) if lines is None else zip(lines, events, strict=True)
    )
    for line, event in numbered:
        try:
            checked.append((line, prepare(event)))
        except Rejected as exc:
            rejected.append(LineError(line, str(exc)))

    rows, now, sent = _resolve(session, checked, rejected)
    if rejected and not skip_invalid:
        rejected.sort(key=lambda e: e.line)
        raise InvalidEvents(_batch_message(rejected, len(rows) + len(rejected)), tuple(rejected))
    if rows:
        _write(session, rows, now, sent, settings or machine.current_settings())
    rejected.sort(key=lambda e: e.line)
    return BatchResult(recorded=len(rows), rejected=tuple(rejected))


def _resolve(
    session: Session, checked: list[tuple[int, Prepared]], rejected: list[LineError]
) -> tuple[list[tuple[int, int, Prepared]], datetime | None, dict[int, datetime | None]]:
    """(line, recipient id, event) for each event whose recipient exists, in one query; the
    others go to `rejected`. Also the transaction's now(), for events without a time, and
    each found recipient's sent_at."""
    ids = sorted({p.recipient_id for _, p in checked if p.recipient_id is not None})
    pairs = sorted({p.recipient_key for _, p in checked if p.recipient_key is not None})
    if not checked:
        return [], None, {}
    params: dict[str, list] = {}
    if ids:
        params["ids"] = ids
    if pairs:
        params["campaigns"] = [c for c, _ in pairs]
        params["emails"] = [e for _, e in pairs]
    found_ids: set[int] = set()
    by_pair: dict[tuple[str, str], list[int]] = {}
    now = None
    sent: dict[int, datetime | None] = {}
    for rid, campaign, email, row_now, sent_at in session.execute(
        _RESOLVE[bool(ids), bool(pairs)], params
    ):
        now = row_now
        sent[rid] = sent_at
        if campaign is None:
            found_ids.add(rid)
        else:
            by_pair.setdefault((campaign, email), []).append(rid)

    rows: list[tuple[int, int, Prepared]] = []
    problems: dict[tuple[str, str], str] = {}
    for line, p in checked:
        if p.recipient_id is not None:
            if p.recipient_id not in found_ids:
                rejected.append(LineError(line, unknown_recipient_id(p.recipient_id)))
            elif p.event_type in NEEDS_SENT and sent[p.recipient_id] is None:
                rejected.append(LineError(line, never_sent(p.event_type, p.recipient_id)))
            else:
                rows.append((line, p.recipient_id, p))
            continue
        matches = by_pair.get(p.recipient_key, ())
        if len(matches) == 1:
            if p.event_type in NEEDS_SENT and sent[matches[0]] is None:
                rejected.append(LineError(line, never_sent(p.event_type, matches[0])))
            else:
                rows.append((line, matches[0], p))
            continue
        if p.recipient_key not in problems:
            problems[p.recipient_key] = _pair_problem(session, *p.recipient_key, matches)
        rejected.append(LineError(line, problems[p.recipient_key]))
    return rows, now, sent


def _resolve_pairs(session: Session, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list]:
    found: dict[tuple[str, str], list[int]] = {}
    params = {"campaigns": [c for c, _ in pairs], "emails": [e for _, e in pairs]}
    for rid, campaign, email, *_ in session.execute(_RESOLVE[False, True], params):
        found.setdefault((campaign, email), []).append(rid)
    return found


def _pair_problem(session: Session, campaign: str, email: str, matches) -> str:
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


def _write(
    session: Session,
    rows: list[tuple[int, int, Prepared]],
    now: datetime,
    sent: dict[int, datetime | None],
    settings: machine.Settings,
) -> None:
    rid, types, data, agents, ips, times = [], [], [], [], [], []
    # recipient id -> [opened, clicked, replied, bounced, status, status key, error, error key]
    effects: dict[int, list] = {}
    windows = {t: settings.window(t) for t in machine.CLASSIFIED_TYPES}
    for line, recipient, p in rows:
        at = p.created_at or now
        rid.append(recipient)
        types.append(p.event_type)
        event_data = p.event_data
        window = windows.get(p.event_type)
        if window is not None and p.machine_reason is None:
            sent_at = sent.get(recipient)
            if sent_at is not None and machine.within(at, sent_at, window):
                event_data = machine.append_verdict(event_data, "too-fast")
        data.append(event_data)
        agents.append(p.user_agent)
        ips.append(p.ip_address)
        times.append(at)
        columns = TIMESTAMPS.get(p.event_type)
        status = STATUS.get(p.event_type)
        if not columns and not status:
            continue
        e = effects.get(recipient)
        if e is None:
            e = effects[recipient] = [None] * 8
        for column in columns or ():
            slot = _EFFECT_SLOT[column]
            if e[slot] is None or at < e[slot]:
                e[slot] = at
        if status:
            # The latest status-setting event wins, as if the batch had arrived one by one.
            key = (at, line)
            if e[5] is None or key > e[5]:
                e[4], e[5] = status, key
            if p.error_message is not None and (e[7] is None or key > e[7]):
                e[6], e[7] = p.error_message, key

    params = {
        "rid": rid,
        "event_type": types,
        "event_data": data,
        "user_agent": agents,
        "ip_address": ips,
        "created_at": times,
    }
    if not effects:
        session.execute(_WRITE_ONLY, params)
        return
    ordered = sorted(effects.items())
    params["f_rid"] = [r for r, _ in ordered]
    # Locks in the order every writer takes them: recipient rows, then campaign rows in id
    # order. The statement's triggers lock campaigns twice, the counters' those of the
    # recipients it changes and the rollup's those of all its events, each set in id order but
    # one after the other: two batches would deadlock between the two sets. So all of them
    # first, after the recipients the statement updates (as a plain UPDATE's trigger does).
    session.execute(_LOCK_RECIPIENTS, {"rid": params["f_rid"]})
    session.execute(_LOCK_CAMPAIGNS, {"rid": sorted(set(rid))})
    for name, slot in (
        ("f_opened", 0),
        ("f_clicked", 1),
        ("f_replied", 2),
        ("f_bounced", 3),
        ("f_status", 4),
        ("f_error", 6),
    ):
        params[name] = [e[slot] for _, e in ordered]
    session.execute(_WRITE_AND_APPLY, params)


def _batch_message(rejected: list[LineError], total: int) -> str:
    listed = "; ".join(f"line {e.line}: {e.reason}" for e in rejected[:_MAX_LISTED])
    more = len(rejected) - _MAX_LISTED
    if more > 0:
        listed += f"; and {more} more"
    return (
        f"Nothing was recorded: {len(rejected)} of {total} events can't be stored ({listed}). "
        "Fix those lines, or skip invalid events to record the others."
    )
