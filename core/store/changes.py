"""Change feed: LISTEN for the campaign_changes NOTIFYs the triggers send and yield change sets.

The triggers of migration 0003 NOTIFY `campaign_changes` with the campaign's id whenever a
commit touches campaigns, campaign_recipients or email_tracking. A ChangeFeed listens on a
dedicated autocommit psycopg connection (psycopg's notifies() holds the connection's lock, so
never a pooled one), folds every notification already queued into one ChangeSet, reconnects
by itself with exponential backoff, and falls back to polling when LISTEN is refused (a
transaction-mode pooler). It is meant to run in a consumer's thread:

    feed = ChangeFeed(url, on_status=show_state)
    for change in feed.changes(timeout=1.0):   # ends after feed.stop() from any thread
        if change is None:
            continue                            # a wake-up: check for cancellation here
        refresh(change.campaign_ids, everything=change.resync)
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import selectors
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from time import monotonic

import psycopg
from psycopg import errors, sql

from core.config import mask_dsn, mask_secrets
from core.store.db import libpq_url

log = logging.getLogger(__name__)

CHANNEL = "campaign_changes"
APPLICATION_NAME = "campaign-console-changes"
# A blackholed host must not hold a reconnect attempt (and stop()) for libpq's default minutes.
CONNECT_TIMEOUT = 5
# Under a sustained stream of notifications a drain ends after this long, so the consumer
# still hears about changes several times a second.
DRAIN_WINDOW = 0.05
# LISTEN is checked on each connect: a notification from a second connection must arrive
# within this long, else the feed polls.
PROBE_WAIT = 3.0
PROBE_APPLICATION_NAME = "campaign-console-changes-probe"


class FeedState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    POLLING = "polling"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Campaigns (campaigns.id) changed by commits since the last change set.

    resync means anything may have changed (after a (re)connect, on each poll, or after a
    notification without a campaign id): refresh everything on show.
    """

    campaign_ids: frozenset[int]
    resync: bool = False
    # The primary's WAL position read when the notifications arrived (with_lsn feeds): the
    # commits that sent them are before it, so a replica that has replayed it shows them.
    lsn: str | None = None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    state: FeedState
    since: datetime  # UTC, when this state began
    detail: str  # for a person; any password in the DSN is masked


class _ListenRefused(Exception):
    """The server (or a pooler in front of it) answered LISTEN with an error, or LISTEN hears
    nothing (a transaction-mode pooler)."""


class _ProbeFailed(OSError):
    """The second connection that checks LISTEN could not send its notification."""


class ChangeFeed:
    """Coalesced change notifications for campaigns, with its own reconnecting connection.

    One consumer at a time iterates changes(); stop() may be called from any thread. A feed
    runs once: after its generator ends it is STOPPED and changes() returns at once.
    """

    def __init__(
        self,
        url: str,
        *,
        channel: str = CHANNEL,
        poll_interval: float = 2.0,
        retry_initial: float = 0.5,
        retry_max: float = 5.0,
        on_status: Callable[[FeedStatus], None] | None = None,
        revive: Callable[[], bool] | None = None,
        with_lsn: bool = False,
        probe_wait: float = PROBE_WAIT,
    ) -> None:
        """revive: called when the server can't be reached, to start it again (the embedded
        server this process started); it returns whether it did. with_lsn: each change set
        carries the primary's WAL position (one more round trip a change set)."""
        if poll_interval <= 0 or retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError(
                "poll_interval and retry_initial must be positive and retry_max at least "
                f"retry_initial (got {poll_interval}, {retry_initial}, {retry_max})"
            )
        self.channel = channel
        self.poll_interval = poll_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._url = url
        self._conninfo = libpq_url(url)  # a non-PostgreSQL URL is refused here, not retried
        self._display = mask_dsn(url)
        self._on_status = on_status
        self._revive = revive
        self._with_lsn = with_lsn
        self._probe_wait = probe_wait
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._running = False
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._status = FeedStatus(FeedState.CONNECTING, _now(), f"Not started ({self._display})")

    @property
    def status(self) -> FeedStatus:
        with self._lock:
            return self._status

    def stop(self) -> None:
        """End the generator at once (or at its consumer's next next()); closes the connection."""
        self._stopped.set()
        with self._lock:
            if self._wake_w is not None:
                # Non-blocking: a full pipe from repeated stop() calls already wakes it.
                with contextlib.suppress(OSError):
                    self._wake_w.send(b"\0")

    def listen_statement(self) -> sql.Composed:
        """The statement that subscribes to the channel (a hook: the tests make it fail)."""
        return sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))

    def changes(self, timeout: float = 1.0) -> Iterator[ChangeSet | None]:
        """Yield a ChangeSet when commits touched campaigns, None after `timeout` s of quiet.

        The first item after each (re)connect is a resync ChangeSet, since notifications sent
        while disconnected are lost. Connection problems never raise: they are retried and
        reported through `status`/`on_status`. Only stop() (or closing the generator) ends it.
        """
        with self._lock:
            if self._running:
                raise RuntimeError("This ChangeFeed is already being consumed; use one feed each.")
            self._running = True
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
        try:
            if not self._stopped.is_set():
                yield from self._run(timeout)
        finally:
            with self._lock:
                for sock in (self._wake_r, self._wake_w):
                    if sock is not None:
                        sock.close()
                self._wake_r = self._wake_w = None
                self._running = False
            self._stopped.set()
            self._set(FeedState.STOPPED, "Stopped")

    # The loop: connect, listen, retry, or poll.

    def _run(self, timeout: float) -> Iterator[ChangeSet | None]:
        self._set(FeedState.CONNECTING, f"Connecting to {self._display}", restart=True)
        delay = self.retry_initial
        attempt = 0
        while not self._stopped.is_set():
            attempt += 1
            try:
                conn = self._open()
            except _ListenRefused as exc:
                yield from self._poll(timeout, self._describe(exc.__cause__ or exc))
                return
            except (psycopg.Error, OSError) as exc:
                state = (
                    FeedState.CONNECTING
                    if self.status.state is FeedState.CONNECTING
                    else FeedState.RECONNECTING
                )
                self._set(
                    state,
                    f"Cannot reach {self._display}: {self._describe(exc)}; "
                    f"{self._try_revive()}retrying in {delay:g} s (attempt {attempt})",
                )
                yield None
                yield from self._sleep(delay, timeout)
                delay = min(delay * 2, self.retry_max)
                continue
            delay, attempt = self.retry_initial, 0
            if self._stopped.is_set():  # stop() came while connecting
                conn.close()
                return
            try:
                self._set(FeedState.LIVE, f"Listening for changes on {self._display}")
                yield ChangeSet(frozenset(), resync=True)
                yield from self._listen(conn, timeout)
            except (psycopg.Error, OSError) as exc:
                if self._stopped.is_set():
                    return
                self._set(
                    FeedState.RECONNECTING,
                    f"Lost the connection to {self._display}: {self._describe(exc)}; reconnecting",
                )
            finally:
                conn.close()

    def _try_revive(self) -> str:
        """Start the server again if the feed was given a way to; what happened, in words."""
        if self._revive is None:
            return ""
        try:
            return "started the server again; " if self._revive() else ""
        except Exception as exc:  # reported in the status, tried again at the next attempt
            return f"could not start the server ({self._describe(exc)}); "

    def _open(self) -> psycopg.Connection:
        conn = self._connect(APPLICATION_NAME)
        try:
            conn.execute(self.listen_statement())
            self._probe(conn)
            # Notifications that arrived with LISTEN's reply sit in psycopg's backlog, where
            # select() cannot see them; the resync that follows covers them.
            self._drain(conn)
        except psycopg.Error as exc:
            healthy = not conn.broken and not conn.closed
            conn.close()
            if healthy and not isinstance(exc, errors.QueryCanceled):
                raise _ListenRefused(str(exc)) from exc
            raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect(self, application_name: str) -> psycopg.Connection:
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name,
            prepare_threshold=None,  # a pooler may hand each statement another server
            # Without keepalives a silently dropped TCP connection would look idle forever.
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )

    def _probe(self, conn: psycopg.Connection) -> None:
        """Refuse LISTEN that would hear nothing: a notification sent from a second connection
        must reach this one. Through a transaction-mode pooler (PgBouncer) the LISTEN ran on
        a server connection that went back to the pool; nothing ever arrives here."""
        channel = sql.Identifier(f"{self.channel}_probe")
        token = secrets.token_hex(8)
        conn.execute(sql.SQL("LISTEN {}").format(channel))
        try:
            with self._connect(PROBE_APPLICATION_NAME) as other:
                other.execute("SELECT pg_notify(%s, %s)", (f"{self.channel}_probe", token))
        except psycopg.Error as exc:  # the server's trouble: retried, not a refused LISTEN
            raise _ProbeFailed(str(exc)) from exc
        deadline = monotonic() + self._probe_wait
        heard = False
        while not heard and (remaining := deadline - monotonic()) > 0:
            for note in conn.notifies(timeout=remaining, stop_after=1):
                heard = heard or note.payload == token
        conn.execute(sql.SQL("UNLISTEN {}").format(channel))
        if not heard:
            raise _ListenRefused(
                f"a notification sent on another connection did not arrive within "
                f"{self._probe_wait:g} s: a transaction-mode pooler in between? "
                "Give --listen-url a direct connection to the primary"
            )

    def _lsn(self, conn: psycopg.Connection) -> str | None:
        if not self._with_lsn:
            return None
        row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        return None if row is None else str(row[0])

    def _listen(self, conn: psycopg.Connection, timeout: float) -> Iterator[ChangeSet | None]:
        assert self._wake_r is not None
        # A selector, not select.select(): a busy app may hand the connection an fd >= 1024.
        with selectors.DefaultSelector() as selector:
            selector.register(conn.fileno(), selectors.EVENT_READ, "db")
            selector.register(self._wake_r, selectors.EVENT_READ, "wake")
            while not self._stopped.is_set():
                deadline = monotonic() + timeout
                change: ChangeSet | None = None
                while change is None and not self._stopped.is_set():
                    if conn.broken or conn.closed:
                        raise psycopg.OperationalError("the connection is lost")
                    remaining = deadline - monotonic()
                    if remaining <= 0:
                        break
                    ready = {key.data for key, _ in selector.select(remaining)}
                    if "wake" in ready:
                        return
                    if "db" in ready:
                        # Readable with no notification: a notice, or the server's goodbye
                        # (the next read then raises). Keep waiting out the timeout.
                        change = _fold(self._drain(conn))
                        if change is not None and self._with_lsn:
                            change = replace(change, lsn=self._lsn(conn))
                if self._stopped.is_set():
                    return
                yield change

    def _drain(self, conn: psycopg.Connection) -> list[str]:
        """Payloads of every notification already received, without waiting for more."""
        payloads: list[str] = []
        window_end = monotonic() + DRAIN_WINDOW
        while True:
            batch = [n.payload for n in conn.notifies(timeout=0)]
            payloads.extend(batch)
            if not batch or monotonic() >= window_end:
                return payloads

    def _poll(self, timeout: float, reason: str) -> Iterator[ChangeSet | None]:
        self._set(
            FeedState.POLLING,
            f"LISTEN is not available on {self._display} ({reason}); "
            f"refreshing every {self.poll_interval:g} s",
        )
        while not self._stopped.is_set():
            yield ChangeSet(frozenset(), resync=True)
            yield from self._sleep(self.poll_interval, timeout)

    def _sleep(self, seconds: float, timeout: float) -> Iterator[None]:
        """Wait `seconds` (or until stop()), yielding None every `timeout` s in between."""
        deadline = monotonic() + seconds
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0 or self._stopped.wait(min(remaining, timeout)):
                return
            if monotonic() < deadline:
                yield None

    # Status.

    def _set(self, state: FeedState, detail: str, *, restart: bool = False) -> None:
        detail = mask_secrets(mask_secrets(detail, self._url), self._conninfo)
        with self._lock:
            old = self._status
            if old.state is state and old.detail == detail and not restart:
                return
            since = old.since if old.state is state and not restart else _now()
            self._status = new = FeedStatus(state, since, detail)
        if new.state is not old.state:
            log.info("change feed: %s (%s)", new.state, new.detail)
        if self._on_status is not None:
            self._on_status(new)

    def _describe(self, exc: BaseException) -> str:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = lines[0] if lines else type(exc).__name__
        return mask_secrets(mask_secrets(text, self._url), self._conninfo)[:300]


def _fold(payloads: Iterable[str]) -> ChangeSet | None:
    ids: set[int] = set()
    resync = False
    seen = False
    for payload in payloads:
        seen = True
        try:
            ids.add(int(payload))
        except ValueError:
            # Someone NOTIFYed the channel without a campaign id: say "anything changed".
            resync = True
    return ChangeSet(frozenset(ids), resync) if seen else None


def _now() -> datetime:
    return datetime.now(UTC)
