"""Live refresh: a thread worker consumes core's ChangeFeed and tells the visible screen.

The feed coalesces bursts into change sets; screens then refresh at once for the first change
and at most every REFRESH_INTERVAL after that, re-arming only when a refresh has painted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from time import monotonic
from typing import Protocol

from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer
from textual.worker import get_current_worker

from core.store import ChangeFeed, ChangeSet, FeedState, FeedStatus, ReplicaState, ReplicaStatus


class LiveScreen(Protocol):
    """A screen the pacer refreshes (tui.screens.shared.base.DataScreen)."""

    def set_timer(self, delay: float, callback: Callable[[], None]) -> Timer: ...

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None: ...


REFRESH_INTERVAL = 0.2


@dataclass
class DataChanged(Message):
    change: ChangeSet


@dataclass
class FeedStatusChanged(Message):
    status: FeedStatus


@dataclass
class ReplicaChecked(Message):
    status: ReplicaStatus


def consume(app: MessagePump, feed: ChangeFeed) -> None:
    """The body of the app's feed worker (a thread): post every change set to the app."""
    worker = get_current_worker()
    for change in feed.changes(timeout=0.5):
        if worker.is_cancelled:
            feed.stop()
            break
        if change is not None:
            app.post_message(DataChanged(change))


def describe(status: FeedStatus | None, paused: bool, tz: tzinfo | None) -> str:
    if paused:
        return "live paused"
    if status is None:
        return "not live"
    since = status.since.astimezone(tz).strftime("%H:%M:%S")
    return {
        FeedState.LIVE: "live",
        FeedState.CONNECTING: "connecting…",
        FeedState.RECONNECTING: f"reconnecting since {since}",
        FeedState.POLLING: "polling every 2 s",
        FeedState.STOPPED: "not live",
    }[status.state]


def describe_replica(status: ReplicaStatus | None) -> str:
    """The replica's part of the title: its lag, or why reads went to the primary."""
    if status is None or status.state is ReplicaState.UNCHECKED:
        return "replica: checking"
    if status.state is ReplicaState.READING:
        return f"replica lag {status.lag or 0.0:.1f} s"
    if status.state is ReplicaState.BEHIND:
        return f"replica {status.lag or 0.0:.0f} s behind: reading primary"
    if status.state is ReplicaState.GONE:
        return "replica gone: reading primary"
    return "replica not a standby: reading primary"


class RefreshPacer:
    """First change at once, then at most one refresh per interval; never two at a time."""

    def __init__(self, screen: LiveScreen, interval: float = REFRESH_INTERVAL) -> None:
        self.screen = screen
        self.interval = interval
        self.ids: set[int] = set()
        self.resync = False
        self.running = False
        self.last = 0.0
        self.timer: Timer | None = None
        self.changed_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return bool(self.ids) or self.resync

    def add(self, change: ChangeSet) -> None:
        self.ids |= change.campaign_ids
        self.resync = self.resync or change.resync
        self.kick()

    def kick(self) -> None:
        if self.running or self.timer is not None or not self.pending:
            return
        wait = self.last + self.interval - monotonic()
        if wait > 0:
            self.timer = self.screen.set_timer(wait, self._fire)
        else:
            self._fire()

    def _fire(self) -> None:
        self.timer = None
        if self.running or not self.pending:
            return
        ids, resync = frozenset(self.ids), self.resync
        self.ids, self.resync = set(), False
        self.running = True
        self.last = monotonic()
        self.screen.live_refresh(ids, resync)

    def done(self) -> None:
        """The refresh painted (or failed): the next one may be armed."""
        self.running = False
        self.kick()
