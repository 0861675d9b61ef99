"""Recording a batch of email events as one unit, with the effects core.events.record states.

A batch is one SELECT resolving every event's recipient (by id, or by campaign and email
address) plus one statement inserting every event and updating every affected recipient,
its effects reduced in Python first: the earliest timestamp of each kind, and the status and
bounce error of the latest status-setting event, as if the events had come one by one.
Lines are 1-based positions in the batch; a bad one is refused with its line, and by default
the whole batch with it. An event whose dedup_key is already stored, or came earlier in the
batch, is skipped and counted (BatchResult.duplicates): core.events.dedup. Nothing commits here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

import core.events.machine as machine
from core.errors import InvalidInput
from core.events.dedup import ON_CONFLICT, drop_duplicates
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
from core.events.record import RESOLVE_PAIRS, pair_problem

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
    duplicates: int = 0  # events skipped: their dedup_key was stored already, or came earlier


class InvalidEvents(InvalidInput):
    """A batch refused as a whole; `rejected` lists every bad event (nothing was written)."""

    def __init__(self, message: str, rejected: tuple[LineError, ...]):
        super().__init__(message)
        self.rejected = rejected


class _Row(NamedTuple):
    """An event of the batch whose recipient was found."""

    line: int
    recipient_id: int
    event: Prepared


@dataclass(slots=True)
class _Effect:
    """What the batch's events do to one recipient, reduced as they are read in line order."""

    first: dict[str, datetime] = field(default_factory=dict)  # timestamp column -> earliest
    status: str | None = None  # of the latest status-setting event: (time, line) is `status_at`
    status_at: tuple[datetime, int] | None = None
    error: str | None = None  # the bounce error of the latest event with one
    error_at: tuple[datetime, int] | None = None

    def add(
        self,
        columns: tuple[str, ...],
        status: str | None,
        error: str | None,
        at: datetime,
        line: int,
    ) -> None:
        for column in columns:
            earliest = self.first.get(column)
            if earliest is None or at < earliest:
                self.first[column] = at
        if status:
            # The latest status-setting event wins, as if the batch had arrived one by one.
            key = (at, line)
            if self.status_at is None or key > self.status_at:
                self.status, self.status_at = status, key
            if error is not None and (self.error_at is None or key > self.error_at):
                self.error, self.error_at = error, key


_RESOLVE_IDS = """
    SELECT id, NULL AS campaign, NULL AS email_address, now() AS now, sent_at, campaign_id
    FROM campaign_recipients WHERE id = ANY(CAST(:ids AS int[]))
"""
_RESOLVE = {
    (True, False): text(_RESOLVE_IDS),
    (False, True): text(RESOLVE_PAIRS),
    (True, True): text(f"{_RESOLVE_IDS} UNION ALL {RESOLVE_PAIRS}"),
}
# A batch whose every event names its recipient by id and changes it (opens, clicks,
# unsubscribes: the endpoint's): one round trip finds the recipients, locks them in id order
# (as _LOCK_RECIPIENTS would, a little earlier) and reads which dedup keys are stored.
_RESOLVE_AND_LOCK = text(
    "SELECT id, NULL AS campaign, NULL AS email_address, now() AS now, sent_at, campaign_id,"
    " (SELECT array_agg(e.dedup_key) FROM email_tracking e"
    "  WHERE e.dedup_key = ANY(CAST(:keys AS text[]))) AS stored"
    " FROM campaign_recipients WHERE id = ANY(CAST(:ids AS int[]))"
    " ORDER BY id FOR NO KEY UPDATE OF campaign_recipients"
)

_INSERT_MANY = """
    INSERT INTO email_tracking
        (campaign_recipient_id, event_type, event_data, user_agent, ip_address, created_at,
         source, dedup_key)
    SELECT * FROM unnest(
        CAST(:rid AS int[]), CAST(:event_type AS text[]), CAST(:event_data AS jsonb[]),
        CAST(:user_agent AS text[]), CAST(:ip_address AS inet[]),
        CAST(:created_at AS timestamptz[]), CAST(:source AS text[]), CAST(:dedup_key AS text[]))
"""
# The same INSERT locking the rows of campaigns :cids (in id order) before its first row: a
# one-time filter's InitPlan runs when the INSERT starts, before any trigger of the statement
# (they all fire at its end), so the campaigns are locked in one set, after the recipients,
# without a round trip of its own.
_INSERT_LOCKING = (
    _INSERT_MANY
    + """    WHERE (SELECT count(*) FROM (
        SELECT c.id FROM campaigns c WHERE c.id = ANY(CAST(:cids AS int[]))
        ORDER BY c.id FOR NO KEY UPDATE OF c) AS locked) >= 0
"""
)
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
_WRITE_AND_APPLY = text(f"WITH ins AS ({_INSERT_LOCKING})\n{_APPLY_EFFECTS}")
# With dedup keys: ON CONFLICT is the backstop for a writer racing this one with the same key
# (the keys stored before were filtered out already); the events it skipped apply no effect
# (unless their recipient has another event inserted) and are not counted as recorded.
_KEYED = f" {ON_CONFLICT} RETURNING campaign_recipient_id"
_WRITE_ONLY_KEYED = text(f"WITH ins AS ({_INSERT_MANY}{_KEYED})\nSELECT count(*) FROM ins")
_WRITE_AND_APPLY_KEYED = text(
    f"WITH ins AS ({_INSERT_LOCKING}{_KEYED}),\nupd AS ({_APPLY_EFFECTS}"
    " AND r.id IN (SELECT campaign_recipient_id FROM ins))\nSELECT count(*) FROM ins"
)

_LOCK_RECIPIENTS = text(
    "SELECT id, campaign_id FROM campaign_recipients WHERE id = ANY(CAST(:rid AS int[]))"
    " ORDER BY id FOR NO KEY UPDATE"
)


@dataclass(slots=True)
class _Found:
    """What resolving a batch read: the transaction's now(), each found recipient's sent_at and
    campaign, and (when read along) the stored dedup keys and whether the rows are locked."""

    now: datetime | None = None
    sent: dict[int, datetime | None] = field(default_factory=dict)
    campaign: dict[int, int] = field(default_factory=dict)
    stored: set[str] | None = None  # None: not read yet
    locked: bool = False


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
    are classified as in record_event. Events with a dedup_key already stored, or repeating
    an earlier one of the batch, are skipped (not an error) and counted in
    BatchResult.duplicates."""
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

    rows, found = _resolve(session, checked, rejected)
    if rejected and not skip_invalid:
        rejected.sort(key=lambda e: e.line)
        raise InvalidEvents(_batch_message(rejected, len(rows) + len(rejected)), tuple(rejected))
    rows, duplicates = drop_duplicates(
        session, rows, lambda row: row.event.dedup_key, stored=found.stored
    )
    recorded = 0
    if rows:
        recorded = _write(session, rows, found, settings or machine.current_settings())
        duplicates += len(rows) - recorded
    rejected.sort(key=lambda e: e.line)
    return BatchResult(recorded=recorded, rejected=tuple(rejected), duplicates=duplicates)


def _resolve(
    session: Session, checked: list[tuple[int, Prepared]], rejected: list[LineError]
) -> tuple[list[_Row], _Found]:
    """A row (line, recipient id, event) for each event whose recipient exists, in one query; the
    others go to `rejected`. Also the transaction's now(), for events without a time, and
    each found recipient's sent_at and campaign."""
    ids = sorted({p.recipient_id for _, p in checked if p.recipient_id is not None})
    pairs = sorted({p.recipient_key for _, p in checked if p.recipient_key is not None})
    found = _Found()
    if not checked:
        return [], found
    params: dict[str, list[Any]] = {}
    if ids:
        params["ids"] = ids
    if pairs:
        params["campaigns"] = [c for c, _ in pairs]
        params["emails"] = [e for _, e in pairs]
    found_ids: set[int] = set()
    by_pair: dict[tuple[str, str], list[int]] = {}
    if not pairs and all(_changes_recipient(p.event_type) for _, p in checked):
        params["keys"] = sorted({p.dedup_key for _, p in checked if p.dedup_key is not None})
        found.stored, found.locked = set(), True
        result = session.execute(_RESOLVE_AND_LOCK, params)
    else:
        result = session.execute(_RESOLVE[bool(ids), bool(pairs)], params)
    for rid, campaign, email, row_now, sent_at, campaign_pk, *stored in result:
        found.now = row_now
        found.sent[rid] = sent_at
        found.campaign[rid] = campaign_pk
        if stored and stored[0] and found.stored is not None:
            found.stored.update(stored[0])
        if campaign is None:
            found_ids.add(rid)
        else:
            by_pair.setdefault((campaign, email), []).append(rid)
    sent = found.sent

    rows: list[_Row] = []
    problems: dict[tuple[str, str], str] = {}
    for line, p in checked:
        if p.recipient_id is not None:
            if p.recipient_id not in found_ids:
                rejected.append(LineError(line, unknown_recipient_id(p.recipient_id)))
            elif p.event_type in NEEDS_SENT and sent[p.recipient_id] is None:
                rejected.append(LineError(line, never_sent(p.event_type, p.recipient_id)))
            else:
                rows.append(_Row(line, p.recipient_id, p))
            continue
        key = p.recipient_key
        assert key is not None  # prepare() names every recipient by id or by (campaign, email)
        matches = by_pair.get(key, [])
        if len(matches) == 1:
            if p.event_type in NEEDS_SENT and sent[matches[0]] is None:
                rejected.append(LineError(line, never_sent(p.event_type, matches[0])))
            else:
                rows.append(_Row(line, matches[0], p))
            continue
        if key not in problems:
            problems[key] = pair_problem(session, *key, matches)
        rejected.append(LineError(line, problems[key]))
    return rows, found


def _changes_recipient(event_type: str) -> bool:
    return event_type in TIMESTAMPS or event_type in STATUS


def _write(session: Session, rows: list[_Row], found: _Found, settings: machine.Settings) -> int:
    """Insert the rows and apply their effects; returns how many rows were inserted."""
    now, sent = found.now, found.sent
    assert now is not None  # read by the query that found the rows
    rid: list[int] = []
    types: list[str] = []
    data: list[str | None] = []
    agents: list[str | None] = []
    ips: list[str | None] = []
    times: list[datetime] = []
    sources: list[str | None] = []
    keys: list[str | None] = []
    effects: dict[int, _Effect] = {}
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
        sources.append(p.source)
        keys.append(p.dedup_key)
        columns = TIMESTAMPS.get(p.event_type, ())
        status = STATUS.get(p.event_type)
        if columns or status:
            effects.setdefault(recipient, _Effect()).add(columns, status, p.error_message, at, line)

    params: dict[str, list[Any]] = {
        "rid": rid,
        "event_type": types,
        "event_data": data,
        "user_agent": agents,
        "ip_address": ips,
        "created_at": times,
        "source": sources,
        "dedup_key": keys,
    }
    keyed = any(k is not None for k in keys)
    if not effects:
        if keyed:
            return int(session.execute(_WRITE_ONLY_KEYED, params).scalar_one())
        session.execute(_WRITE_ONLY, params)
        return len(rows)
    ordered = sorted(effects.items())
    params["f_rid"] = [r for r, _ in ordered]
    # Locks in the order every writer takes them: recipient rows, then campaign rows in id
    # order. The statement's triggers lock campaigns twice, the counters' those of the
    # recipients it changes and the rollup's those of all its events, each set in id order but
    # one after the other: two batches would deadlock between the two sets. So all of them
    # first (the write statement's _INSERT_LOCKING), after the recipients the statement updates
    # (as a plain UPDATE's trigger does), locked here unless resolving locked them.
    if not found.locked:
        # Their campaigns as locked (a recipient moved since it was resolved: its new one).
        locked = session.execute(_LOCK_RECIPIENTS, {"rid": params["f_rid"]})
        found.campaign.update((r, c) for r, c in locked)
    params["cids"] = sorted({found.campaign[r] for r in rid})
    for name, column in (
        ("f_opened", "opened_at"),
        ("f_clicked", "clicked_at"),
        ("f_replied", "replied_at"),
        ("f_bounced", "bounced_at"),
    ):
        params[name] = [e.first.get(column) for _, e in ordered]
    params["f_status"] = [e.status for _, e in ordered]
    params["f_error"] = [e.error for _, e in ordered]
    if keyed:
        return int(session.execute(_WRITE_AND_APPLY_KEYED, params).scalar_one())
    session.execute(_WRITE_AND_APPLY, params)
    return len(rows)


def _batch_message(rejected: list[LineError], total: int) -> str:
    listed = "; ".join(f"line {e.line}: {e.reason}" for e in rejected[:_MAX_LISTED])
    more = len(rejected) - _MAX_LISTED
    if more > 0:
        listed += f"; and {more} more"
    return (
        f"Nothing was recorded: {len(rejected)} of {total} events can't be stored ({listed}). "
        "Fix those lines, or skip invalid events to record the others."
    )
