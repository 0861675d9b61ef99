"""A hot standby for the screens' reads: how far behind it is, and whether to read it at all.

A Database given a replica URL sends reading() there while writes (and LISTEN: NOTIFY is not
replicated) stay on the primary. Reads must never show older figures than the commit that
caused them, so the Database tells the replica the primary's WAL position it has seen (after
its own writes, and when a notification arrives): a read waits until the standby has replayed
that far (pg_last_wal_replay_lsn()), up to `wait` seconds, and else reads the primary.

A standby more than `max_lag` seconds behind, one that can't be reached, or a server that is
not a standby at all is said in the status, and reads go to the primary until a check (at most
every `check_every` seconds) finds it usable again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core import config

# Standby figures in one round trip. Lag: 0 when it has replayed all the primary has flushed
# (an idle primary writes no commits, so the last replay timestamp alone would grow forever);
# else how old the last commit it replayed is.
_STANDBY_SQL = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
    "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8"
)
# The primary's position: insert, not flush, so that a commit made with synchronous_commit
# off (whose record may not be flushed yet when its NOTIFY arrives) is included.
PRIMARY_LSN_SQL = "SELECT pg_current_wal_insert_lsn()::text"
_POLL = 0.02  # s between two looks at the standby's replay position while waiting


def lsn(text: str | None) -> int:
    """A pg_lsn's text (`16/B374D848`) as a number to compare; 0 for none."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


class ReplicaState(StrEnum):
    UNCHECKED = "unchecked"
    READING = "reading"  # reads go to the standby
    BEHIND = "behind"  # more than max_lag behind: reads go to the primary
    GONE = "gone"  # can't be reached: reads go to the primary
    NOT_STANDBY = "not a standby"  # the URL names a server that is not in recovery


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    state: ReplicaState
    lag: float | None  # seconds behind the primary, None when unknown
    detail: str  # for a person; passwords masked

    @property
    def usable(self) -> bool:
        return self.state is ReplicaState.READING


class Replica:
    """The standby's engine and what is known of it; thread-safe (workers read at once)."""

    def __init__(
        self,
        url: str,
        engine: Engine,
        primary_lsn: Callable[[], str | None],
        *,
        max_lag: float = 10.0,
        wait: float = 2.0,
        check_every: float = 2.0,
    ) -> None:
        self.url = url
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.max_lag = max_lag
        self.wait = wait
        self.check_every = check_every
        self._primary_lsn = primary_lsn
        self._lock = threading.Lock()
        self._wanted = 0  # reads must see the primary at least this far
        self._replayed = 0  # the standby has replayed at least this far (last seen)
        self._checked_at = -check_every
        self._status = ReplicaStatus(ReplicaState.UNCHECKED, None, "not checked yet")

    @property
    def display_url(self) -> str:
        return config.mask_dsn(self.url)

    @property
    def status(self) -> ReplicaStatus:
        with self._lock:
            return self._status

    def want(self, position: str | None) -> None:
        """Reads from now on must show the primary as of `position` (an LSN's text) at least."""
        with self._lock:
            self._wanted = max(self._wanted, lsn(position))

    def check(self) -> ReplicaStatus:
        """Look at the standby (and the primary's position) now; the new status."""
        try:
            primary = lsn(self._primary_lsn())
        except SQLAlchemyError:
            primary = 0  # the primary's own trouble is the reads' to report, not the replica's
        try:
            with self.engine.connect() as conn:
                recovering, replayed, age = conn.exec_driver_sql(_STANDBY_SQL).one()
        except DBAPIError as exc:
            return self._set(ReplicaState.GONE, None, f"cannot reach it ({_first_line(exc)})")
        if not recovering:
            return self._set(ReplicaState.NOT_STANDBY, None, "the server is not a standby")
        replayed_at = lsn(replayed)
        with self._lock:
            self._replayed = max(self._replayed, replayed_at)
        lag = 0.0 if primary and replayed_at >= primary else max(float(age or 0.0), 0.0)
        if lag > self.max_lag:
            return self._set(ReplicaState.BEHIND, lag, f"{lag:.0f} s behind")
        return self._set(ReplicaState.READING, lag, f"{lag:.1f} s behind")

    def session(self) -> Session | None:
        """A session on the standby that sees everything wanted, or None: read the primary."""
        with self._lock:
            stale = time.monotonic() - self._checked_at >= self.check_every
        status = self.check() if stale else self.status
        if not status.usable:
            return None
        session = self.sessions()
        try:
            if self._caught_up(session.connection()):
                session.commit()  # the next statement takes a snapshot of its own
                return session
        except DBAPIError as exc:
            self.lost(exc)
        session.close()
        return None

    def lost(self, exc: BaseException) -> None:
        """A read on the standby lost its connection: the next reads go to the primary."""
        self._set(ReplicaState.GONE, None, f"cannot reach it ({_first_line(exc)})")

    def _caught_up(self, conn: Connection) -> bool:
        with self._lock:
            wanted, replayed = self._wanted, self._replayed
        if wanted <= replayed:
            return True
        deadline = time.monotonic() + self.wait
        while True:
            replayed = lsn(conn.exec_driver_sql("SELECT pg_last_wal_replay_lsn()::text").scalar())
            with self._lock:
                self._replayed = max(self._replayed, replayed)
            if replayed >= wanted:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)

    def _set(self, state: ReplicaState, lag: float | None, detail: str) -> ReplicaStatus:
        status = ReplicaStatus(state, lag, config.mask_secrets(detail, self.url))
        with self._lock:
            self._status = status
            self._checked_at = time.monotonic()
        return status

    def close(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return (lines[0] if lines else type(orig).__name__)[:200]
