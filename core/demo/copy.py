"""Bulk loading for the demo: COPY text rows, id reservation, and COPY streams on threads.

Rows are written in COPY's text format (tab-separated, \\N for NULL) from Python values the
demo controls; every string that could hold a backslash, tab or newline goes through
`escape`. Timestamps are written with the rows (never updated afterwards), in UTC with
millisecond precision, from epoch seconds.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, LiteralString

import psycopg

from core.demo.funnel import Event, Funnel, Rereads

NULL = "\\N"

RECIPIENT_COLUMNS = (
    "id, campaign_id, lead_id, email_address, status, sent_at, opened_at, clicked_at, "
    "replied_at, bounced_at, error_message, created_at, updated_at"
)
COPY_LEADS = "COPY leads (id, email, name, company, created_at) FROM STDIN"
COPY_RECIPIENTS = f"COPY campaign_recipients ({RECIPIENT_COLUMNS}) FROM STDIN"
# Demo events are simulated: their source is "simulator", as the traffic simulator's are.
COPY_EVENTS = (
    "COPY email_tracking (campaign_recipient_id, event_type, event_data, user_agent, "
    "ip_address, created_at, source) FROM STDIN"
)
SOURCE_TAIL = "\tsimulator\n"

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SECONDS = [f"{i // 1000:02d}.{i % 1000:03d}+00" for i in range(60_000)]


def escape(value: str | None) -> str:
    return NULL if value is None else value.translate(_ESCAPES)


class TimeText:
    """Epoch seconds as COPY text for timestamptz ('2026-11-26 10:05:07.123+00'), fast:
    the date and minute are formatted once per minute, seconds come from a table."""

    __slots__ = ("minutes",)

    def __init__(self) -> None:
        self.minutes: dict[int, str] = {}  # minute since the epoch -> its prefix, as made

    def __call__(self, t: float | None) -> str:
        if t is None:
            return NULL
        ms = int(t * 1000)
        minute = ms // 60_000
        prefix = self.minutes.get(minute) or self.prefix(minute)
        return prefix + _SECONDS[ms - minute * 60_000]

    def prefix(self, minute: int) -> str:
        text = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%d %H:%M:")
        self.minutes[minute] = text
        return text


def rounded(t: float | None) -> datetime | None:
    """The datetime TimeText(t) stores (milliseconds, truncated), for comparisons in tests."""
    if t is None:
        return None
    return datetime.fromtimestamp((int(t * 1000)) / 1000, UTC)


class EventText:
    """Event tuples (time, type, data, user agent, ip) as COPY rows for one recipient."""

    __slots__ = ("_data", "ts")

    def __init__(self, ts: TimeText) -> None:
        self.ts = ts
        self._data: dict[str, str] = {}

    def rows(self, rid: int, events: Iterable[Event], out: list[str]) -> None:
        ts, data_cache = self.ts, self._data
        prefix = f"{rid}\t"
        data_text: str | None
        for t, kind, data, ua, ip in events:
            if data is None:
                data_text = NULL
            else:
                data_text = data_cache.get(data)
                if data_text is None:
                    data_text = data_cache[data] = escape(data)
            out.append(
                f"{prefix}{kind}\t{data_text}\t{NULL if ua is None else ua}\t"
                f"{NULL if ip is None else ip}\t{ts(t)}{SOURCE_TAIL}"
            )

    def rereads(
        self, rid: int, rereads: Rereads, horizon: float, funnel: Funnel, out: list[str]
    ) -> float:
        """A reader's later opens (core.demo.funnel.Rereads); returns the last one's time."""
        ts = self.ts
        minutes, seconds = ts.minutes, _SECONDS
        data = NULL if rereads.data is None else escape(rereads.data)
        prefix = f"{rid}\topen\t{data}\t{rereads.ua}\t"
        last = rereads.after
        for t, ip in funnel.reread_times(rereads, horizon):
            # TimeText inlined: this is the loop that writes most of the large demo's events.
            ms = int(t * 1000)
            minute = ms // 60_000
            at = (minutes.get(minute) or ts.prefix(minute)) + seconds[ms - minute * 60_000]
            out.append(f"{prefix}{ip}\t{at}{SOURCE_TAIL}")
            last = t
        return last


def reserve_ids(conn: psycopg.Connection, table: str, n: int) -> list[int]:
    """n ids from the table's own sequence, so concurrent writers never collide with them."""
    if n <= 0:
        return []
    ids = _value(
        conn,
        "SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, %s)",
        (table, n),
    )
    return sorted(ids)


def is_superuser(conn: psycopg.Connection) -> bool:
    return bool(_value(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))


def _value(
    conn: psycopg.Connection, query: LiteralString, params: tuple[Any, ...] | None = None
) -> Any:
    """The first column of the one row a query returns."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"no row from {query!r}")
    return row[0]


def copy_all(conn: psycopg.Connection, statement: str, chunks: Iterable[str]) -> None:
    """One COPY of all the chunks, sent in blocks of about a megabyte."""
    with conn.cursor() as cur, cur.copy(statement) as copy:
        block: list[str] = []
        size = 0
        for chunk in chunks:
            block.append(chunk)
            size += len(chunk)
            if size >= 1 << 20:
                copy.write("".join(block))
                block, size = [], 0
        if block:
            copy.write("".join(block))


class _Aborted(Exception):
    pass


_ABORT = ("", -1)


class CopyStream:
    """One COPY statement fed from a queue by its own thread (psycopg releases the GIL while
    it waits on the server, so the producer keeps generating meanwhile)."""

    def __init__(self, conn: psycopg.Connection, statement: str, name: str, depth: int = 4):
        self.conn = conn
        self.statement = statement
        self.name = name
        self.rows = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[str, int] | None] = queue.Queue(depth)
        self._thread = threading.Thread(target=self._run, name=f"copy-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self.conn.cursor() as cur, cur.copy(self.statement) as copy:
                while (item := self._queue.get()) is not None:
                    if item is _ABORT:
                        raise _Aborted  # psycopg ends the COPY with an error: nothing kept
                    copy.write(item[0])
                    self.rows += item[1]
        except BaseException as exc:  # reported to the producer by put() and close()
            self.error = exc
            while self._queue.get() not in (None, _ABORT):  # unblock the producer
                pass

    def put(self, text: str, rows: int) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((text, rows))

    def abort(self) -> None:
        """Fail the COPY (the producer gave up) and wait for the thread; raises nothing."""
        if self._thread.is_alive():
            self._queue.put(_ABORT)
            self._thread.join()

    def close(self) -> None:
        """End the COPY and wait for the server to finish it; raises the stream's error."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
