"""The large demo campaign: 1,000,000 recipients and 5,000,000 events, loaded with COPY.

Rows are generated in chunks and streamed with their final timestamps. Leads are generated
in address order and given increasing ids, and recipients are sent in id order, so most
index inserts land at the right edge of their index rather than all over it.

Fast path (a superuser, e.g. the embedded server): four COPY streams run at once on their
own connections: leads, recipients (in the seeding transaction, with the campaign row) and
the events split over two connections. They run with session_replication_role = replica,
which skips the per-row foreign-key checks and the triggers (we generated every id
ourselves, so the references hold); the campaign's counters are then set by
core.figures.counters.recount in the same transaction as the recipients, which commits after the
leads and before the events. Otherwise (no superuser) everything is one transaction on one
connection, a COPY per chunk, with the foreign keys and triggers doing their usual work.
"""

from __future__ import annotations

import contextlib
import random
import time
from datetime import datetime
from typing import NamedTuple

import psycopg
from sqlalchemy import text

from core import figures
from core.demo import data as d
from core.demo import indexes
from core.demo.common import (
    DemoResult,
    Progress,
    epoch,
    insert_campaigns,
    lock,
    no_progress,
    raw_connection,
)
from core.demo.copy import (
    COPY_EVENTS,
    COPY_LEADS,
    COPY_RECIPIENTS,
    CopyStream,
    TimeText,
    copy_all,
    is_superuser,
    reserve_ids,
)
from core.demo.reset import delete_campaign_rows
from core.demo.rows import CampaignRows
from core.recipients import suppress_from_events
from core.store import CHANNEL, Database, libpq_url, raw_connect

CHUNK = 20_000
EVENT_STREAMS = 2
# Addresses of the large demo's leads: first.last<6+ digits>@company.example
LARGE_EMAIL = r"^[a-z-]+\.[a-z-]+[0-9]{6,}@[a-z0-9-]+\.example$"
_SUFFIX_BASE = 100_000


class LeadChunk(NamedTuple):
    copy_text: str  # COPY rows of the leads not there yet
    new: int  # how many of them
    leads: list[tuple[int, str]]  # (id, email) of every lead of the range, in order


class LargeLeads:
    """The large demo's leads, generated a chunk at a time in address order.

    Leads left by an earlier run (same address pattern) are reused first; new ones get
    numbers above theirs, so addresses never collide."""

    def __init__(self, conn: psycopg.Connection, n: int, now: float) -> None:
        existing = conn.execute(
            "SELECT id, email FROM leads WHERE email ~ %s ORDER BY id LIMIT %s", (LARGE_EMAIL, n)
        ).fetchall()
        self.existing = [(i, e) for i, e in existing]
        top = _SUFFIX_BASE
        for _, email in self.existing:
            local = email.split("@", 1)[0]
            digits = len(local) - len(local.rstrip("0123456789"))
            top = max(top, int(local[-digits:]) + 1)
        self.first_suffix = top
        self.missing = n - len(self.existing)
        self.ids = reserve_ids(conn, "leads", self.missing)
        ts = TimeText()
        # 4,096 sign-up times over the last two years (formatting one per lead costs more).
        self.created = [
            ts(now - (30 + 700 * k / 4096) * 86400 + 977 * k % 3600) for k in range(4096)
        ]
        self.pairs = sorted(
            (f"{f.lower()}.{last.lower().replace(chr(39), '')}", f"{f} {last}")
            for f in d.FIRST_NAMES
            for last in d.LAST_NAMES
        )

    def chunk(self, lo: int, hi: int) -> LeadChunk:
        """Leads lo .. hi-1: COPY text of the new ones, how many, and (id, email) of all.
        A pure function of the range (a second pass gets the same leads back)."""
        old = len(self.existing)
        out = self.existing[lo:hi] if lo < old else []
        rows: list[str] = []
        pairs, m = self.pairs, self.missing
        companies = d.COMPANIES
        for j in range(max(lo, old) - old, hi - old):
            local, name = pairs[j * len(pairs) // m]
            mixed = (j * 2654435761) & 0xFFFFFFFF  # Knuth's multiplicative hash: a spread
            company = companies[mixed % len(companies)]
            email = f"{local}{self.first_suffix + j}@{company.domain}"
            lead_id = self.ids[j]
            created = self.created[mixed >> 20]
            rows.append(f"{lead_id}\t{email}\t{name}\t{company.name}\t{created}\n")
            out.append((lead_id, email))
        return LeadChunk("".join(rows), len(rows), out)


def seed_large(
    db: Database,
    *,
    seed: int,
    now: datetime | None = None,
    recipients: int = d.LARGE_CAMPAIGN.recipients,
    events: int = d.LARGE_EVENTS,
    parallel: bool | None = None,
    chunk: int = CHUNK,
    progress: Progress = no_progress,
) -> DemoResult:
    """Add the large campaign unless it is there; parallel=None: when the role allows it.
    `chunk` recipients are generated (and sent to one stream) at a time."""
    started = time.monotonic()
    plan = d.LARGE_CAMPAIGN._replace(recipients=recipients)
    campaign_id = d.DEMO_PREFIX + plan.slug
    t_now = epoch(now)
    rng = random.Random(f"{seed}:{plan.slug}")
    load: _Parallel | None = None
    pk = None
    url = libpq_url(db.url)
    dropped = False
    try:
        with db.transaction() as session:
            lock(session)
            indexes.restore(url)  # left dropped by a load that was killed
            found = session.scalar(
                text("SELECT 1 FROM campaigns WHERE campaign_id = :c"), {"c": campaign_id}
            )
            if found:
                progress(f"large demo: {campaign_id} is already there")
                return DemoResult(0, 0, 0, 0, (campaign_id,), time.monotonic() - started)
            raw = raw_connection(session)
            fast = is_superuser(raw) if parallel is None else parallel
            dropped = fast and indexes.drop(url)
            leads = LargeLeads(raw, recipients, t_now)
            pk = insert_campaigns(session, [plan], t_now)[campaign_id]
            rids = reserve_ids(raw, "campaign_recipients", recipients)
            rows = CampaignRows(plan, pk, t_now, rng, events_target=events)
            how = f"{len(STREAMS)} parallel COPY streams" if fast else "one connection"
            if dropped:
                how += ", secondary indexes built afterwards"
            progress(f"large demo: {recipients:,} recipients, {events:,} events ({how})")
            if fast:
                load = _Parallel(db, raw)
                _produce(load, leads, rows, rids, chunk, started, progress)
                progress("large demo: rows sent; waiting for the server to finish them")
                load.finish_copies()
                # The other recipients commit first, so that the count below sees them.
                load.commit_before()
                raw.execute("SET LOCAL session_replication_role = origin")
                # What the skipped triggers would have done (the rollup once events are in).
                figures.recount(session, pk, events=False)
            else:
                _serial(raw, leads, rows, rids, chunk, started, progress)
        if load is not None:
            load.commit_after()
            if dropped:
                progress("large demo: committed; building the indexes")
                indexes.restore(url)
            progress("large demo: counting the events for analytics, listing suppressions")
            with db.transaction() as session:
                suppress_from_events(session, pk)
                figures.rebuild(session, pk)  # the event streams skipped the rollup triggers
                session.execute(text("SELECT pg_notify(:ch, :pk)"), {"ch": CHANNEL, "pk": str(pk)})
    except BaseException:
        if load is not None:
            load.abort()
        if dropped:
            indexes.restore(url)
        if load is not None and load.committed and pk is not None:
            _cleanup(db, pk)  # part of it is committed: don't leave half a campaign
        raise
    finally:
        if load is not None:
            load.close()
    _analyze(db)
    seconds = time.monotonic() - started
    progress(
        f"large demo: loaded {recipients:,} recipients and {rows.events_written:,} events "
        f"in {seconds:.1f} s"
    )
    return DemoResult(1, leads.missing, recipients, rows.events_written, (), seconds)


# The fast path's COPY streams: (table, committed before the seeding transaction?).
STREAMS: tuple[tuple[str, bool | None], ...] = (
    ("leads", True),
    ("recipients", None),
    ("recipients", True),
)
STREAMS += tuple(("events", False) for _ in range(EVENT_STREAMS))
_COPY = {"leads": COPY_LEADS, "recipients": COPY_RECIPIENTS, "events": COPY_EVENTS}


class _Parallel:
    """The fast path's connections and COPY streams, and their commits in a safe order:
    leads and part of the recipients just before the seeding transaction (which holds the
    campaign row, the other recipients and the counters), the events just after it."""

    def __init__(self, db: Database, raw: psycopg.Connection) -> None:
        raw.execute("SET LOCAL session_replication_role = replica")
        self.before: list[psycopg.Connection] = []
        self.after: list[psycopg.Connection] = []
        self.streams: dict[str, list[CopyStream]] = {"leads": [], "recipients": [], "events": []}
        self.committed = False
        for i, (table, early) in enumerate(STREAMS):
            if early is None:
                conn = raw
            else:
                conn = _connect(db)
                (self.before if early else self.after).append(conn)
            self.streams[table].append(CopyStream(conn, _COPY[table], f"{table}-{i}"))

    def finish_copies(self) -> None:
        for streams in self.streams.values():
            for stream in streams:
                stream.close()

    def commit_before(self) -> None:
        for conn in self.before:
            conn.commit()
            self.committed = True

    def commit_after(self) -> None:
        self.committed = True
        for conn in self.after:
            conn.commit()

    def abort(self) -> None:
        for streams in self.streams.values():
            for stream in streams:
                stream.abort()
        for conn in self.before + self.after:
            with contextlib.suppress(Exception):
                conn.rollback()

    def close(self) -> None:
        for conn in self.before + self.after:
            conn.close()


def _connect(db: Database) -> psycopg.Connection:
    conn = raw_connect(db.url)
    # No per-row foreign-key checks or triggers: see the module's docstring. LOCAL: the
    # connection's one transaction (its COPY, then commit), never a pooled server's session.
    conn.execute("SET LOCAL session_replication_role = replica")
    return conn


def _produce(
    load: _Parallel,
    leads: LargeLeads,
    rows: CampaignRows,
    rids: list[int],
    size: int,
    started: float,
    progress: Progress,
) -> None:
    lead_streams, recipient_streams, event_streams = load.streams.values()
    n = len(rids)
    reported = 0
    for k, lo in enumerate(range(0, n, size)):
        hi = min(n, lo + size)
        part = leads.chunk(lo, hi)
        if part.new:
            lead_streams[k % len(lead_streams)].put(part.copy_text, part.new)
        chunk = rows.chunk(rids[lo:hi], part.leads, lo, n)
        recipient_streams[k % len(recipient_streams)].put(chunk.recipients, chunk.n_recipients)
        event_streams[k % len(event_streams)].put(chunk.events, chunk.n_events)
        if hi - reported >= n // 10 or hi == n:
            reported = hi
            _report(progress, hi, n, rows.events_written, started)
    tail = rows.finish()
    if tail is not None:
        event_streams[0].put(tail.events, tail.n_events)


def _serial(
    raw: psycopg.Connection,
    leads: LargeLeads,
    rows: CampaignRows,
    rids: list[int],
    size: int,
    started: float,
    progress: Progress,
) -> None:
    n = len(rids)
    texts = (leads.chunk(lo, min(n, lo + size)).copy_text for lo in range(0, n, size))
    copy_all(raw, COPY_LEADS, texts)
    progress(f"large demo: {leads.missing:,} leads ({time.monotonic() - started:.0f} s)")
    reported = 0
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        chunk = rows.chunk(rids[lo:hi], leads.chunk(lo, hi).leads, lo, n)
        copy_all(raw, COPY_RECIPIENTS, [chunk.recipients])
        copy_all(raw, COPY_EVENTS, [chunk.events])
        if hi - reported >= n // 10 or hi == n:
            reported = hi
            _report(progress, hi, n, rows.events_written, started)
    tail = rows.finish()
    if tail is not None:
        copy_all(raw, COPY_EVENTS, [tail.events])


def _report(progress: Progress, done: int, n: int, events: int, started: float) -> None:
    progress(
        f"large demo: {done:,}/{n:,} recipients, {events:,} events generated"
        f" ({time.monotonic() - started:.0f} s)"
    )


def _analyze(db: Database) -> None:
    """Fresh planner statistics, so the first screens on the new data get good plans."""
    with raw_connect(db.url, autocommit=True) as conn:
        conn.execute("ANALYZE leads, campaign_recipients, email_tracking")


def _cleanup(db: Database, pk: int) -> None:
    with contextlib.suppress(Exception), db.transaction() as session:
        delete_campaign_rows(session, [pk])
