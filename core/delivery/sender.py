"""The sender: claims recipients of running campaigns in batches (leased to it), builds each
message through the MessageSource it is given, and delivers them through a pool of SMTP
connections, throttled; the replies' outcomes are written in batches (core.delivery.outcomes)
and the alarms checked after each (core.delivery.alarms).

One asyncio loop; the database calls run in threads (the core is synchronous). Tasks:

    feeder     keeps the local queue about two batches deep, campaign after campaign
    workers    one per connection: a message at a time, after the throttles let it go
    flusher    writes outcomes every flush_s (or half a window of them), releases what will not
               be sent, renews leases, beats the heartbeat, checks alarms
    watcher    reads the statuses of the campaigns it holds every poll_s: a paused campaign's
               queued recipients are released, and nothing more of it is started

stop() (SIGTERM, SIGINT) ends it cleanly: no new message starts, those in flight finish,
their outcomes are written, the rest is released, the heartbeat row removed. A sender that
dies (kill -9) leaves its leases, which expire after lease_s and are claimed again; the
duplicates this can make are at most the messages between the relay's 250 and the commit of
its outcome: those in flight (one a connection) and those written or waiting to be (at most
settings.window: no message starts while that many wait), each with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.delivery import alarms, claims, outcomes, senders
from core.delivery.connection import Connection
from core.delivery.relay import Relay
from core.delivery.replies import Outcome, Result, decide
from core.delivery.settings import MessageSource, SendSettings
from core.delivery.throttle import Backoff, DomainLimit, Throttle
from core.store import Database

T = TypeVar("T")
BEAT_S = 1.0
PROGRESS_S = 10.0


@dataclass(slots=True)
class Totals:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    bounced: int = 0
    released: int = 0
    paused: list[str] = field(default_factory=list)  # alarms' reasons, as they fired

    def line(self) -> str:
        return (
            f"sent {self.sent:,}, to retry {self.retried:,}, failed {self.failed:,},"
            f" bounced {self.bounced:,}"
        )


class Sender:
    def __init__(
        self,
        db: Database,
        relay: Relay,
        source: MessageSource,
        settings: SendSettings,
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.db = db
        self.relay = relay
        self.source = source
        self.settings = settings.check()
        self.log = log
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.totals = Totals()
        self._stopping = asyncio.Event()
        self._queue: asyncio.Queue[claims.Item | None] = asyncio.Queue()
        self._held: dict[int, claims.Item] = {}  # leased to us, not yet written
        self._results: list[Result] = []
        self._releases: list[int] = []
        self._flush_now = asyncio.Event()
        self._written = asyncio.Event()  # set after each commit of outcomes
        self._unwritten = 0  # outcomes not yet committed (in self._results or being written)
        self._not_running: set[int] = set()
        self._workers_done = False
        self._campaign: int | None = None
        self._last_sent: datetime | None = None
        self._throttle = Throttle(settings.per_second, settings.per_hour, Backoff())
        self._domains = DomainLimit(settings.per_domain)

    # ---- plumbing

    async def _db(self, work: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self.db.run, work)

    def stop(self) -> None:
        """Stop cleanly (safe to call from a signal handler on the loop)."""
        self._stopping.set()

    # ---- the tasks

    async def run(self) -> Totals:
        s = self.settings
        await self._db(lambda session: senders.hello(session, self.id, self.host, self.pid))
        self.log(
            f"sender {self.id} started: relay {self.relay.display_url}, {s.connections}"
            f" connection(s), batches of {s.batch_size}"
        )
        connections = [Connection(self.relay) for _ in range(s.connections)]
        workers = [asyncio.create_task(self._worker(c)) for c in connections]
        flusher = asyncio.create_task(self._flusher())
        watcher = asyncio.create_task(self._watcher())
        try:
            await self._feeder()
        finally:
            self._stopping.set()
            self._drain()
            for _ in workers:
                self._queue.put_nowait(None)
            await asyncio.gather(*workers, return_exceptions=True)
            self._workers_done = True
            watcher.cancel()
            self._flush_now.set()
            await flusher  # the last outcomes and releases written
            await asyncio.gather(*(c.close() for c in connections))
            await self._db(lambda session: senders.goodbye(session, self.id))
            self.log(f"sender {self.id} stopped: {self.totals.line()}")
        return self.totals

    def _drain(self) -> None:
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                self._releases.append(item.recipient.id)

    async def _pause_or_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _feeder(self) -> None:
        s = self.settings
        turn = 0
        while not self._stopping.is_set():
            if self._queue.qsize() >= s.batch_size:
                await self._pause_or_stop(0.005)
                continue
            try:
                turn = await self._feed(turn)
            except DBAPIError as exc:  # the database away: what is queued goes on, retried
                self.log(self.relay.mask(f"could not claim recipients, will retry: {exc.orig}"))
                await self._pause_or_stop(1.0)
            if turn < 0:
                return

    async def _feed(self, turn: int) -> int:
        """Claim the next batch; the next turn, or -1 when done (until_done)."""
        s = self.settings
        running = await self._db(lambda x: claims.running_campaigns(x, s.campaigns))
        self._not_running -= set(running)
        for k in range(len(running)):  # the next campaign with work, round the list
            pk = running[(turn + k) % len(running)]
            if await self._claim(pk):
                return (turn + k + 1) % len(running)
        if s.until_done and not self._held and not await self._work_left(running):
            self.log("nothing left to send")
            return -1
        await self._pause_or_stop(s.idle_s)
        return turn

    async def _work_left(self, running: list[int]) -> bool:
        return await self._db(lambda session: claims.work_left(session, running))

    async def _statuses(self, pks: list[int]) -> dict[int, str]:
        return await self._db(lambda session: claims.statuses(session, pks))

    async def _claim(self, pk: int) -> list[claims.Item]:
        s = self.settings
        n = s.batch_size
        if s.per_second:  # no more than about two seconds' worth waits in our queue
            n = max(1, min(n, int(s.per_second * 2)))
        if s.per_hour:  # nor more than a minute's worth of the hourly limit
            n = max(1, min(n, s.per_hour // 60))

        def work(session: Session) -> tuple[list[claims.Item], int]:
            return claims.claim_items(
                session, pk, n, owner=self.id, lease_s=s.lease_s, source=self.source
            )

        items, unbuilt = await self._db(work)
        self.totals.failed += unbuilt
        for item in items:
            self._held[item.recipient.id] = item
            self._queue.put_nowait(item)
        if items:
            self._campaign = pk
        return items

    async def _worker(self, connection: Connection) -> None:
        s = self.settings
        while (item := await self._queue.get()) is not None:
            rid = item.recipient.id
            if self._stopping.is_set() or item.campaign_pk in self._not_running:
                self._releases.append(rid)
                continue
            async with self._domains.slot(item.recipient.email_address):
                await self._throttle.wait()
                while self._unwritten >= s.window:  # the crash window is full: wait for a commit
                    self._flush_now.set()
                    self._written.clear()
                    await self._written.wait()
                if self._stopping.is_set() or item.campaign_pk in self._not_running:
                    self._releases.append(rid)
                    continue
                attempt = item.recipient.attempts + 1
                at = datetime.now(UTC)
                reply = await connection.send(
                    item.envelope_from, item.recipient.email_address, item.data
                )
            outcome = decide(reply, attempt, s.max_attempts)
            if reply.slow_down:
                delay = self._throttle.backoff.slow_down()
                self.log(f"relay says {reply.describe()}: every connection waits {delay:g} s")
            elif outcome == Outcome.SENT:
                self._throttle.backoff.ok()
                self._last_sent = at
            result = Result(
                item.campaign_pk, rid, item.recipient.email_address, attempt, at, reply, outcome
            )
            self._results.append(result)
            self._unwritten += 1
            if len(self._results) >= max(1, s.window // 2):
                self._flush_now.set()

    async def _watcher(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_s)
            held = sorted({i.campaign_pk for i in self._held.values()})
            if not held:
                continue
            try:
                found = await self._statuses(held)
            except Exception as exc:  # the database away: the flusher says so
                self.log(self.relay.mask(f"could not read the campaigns' status: {exc}"))
                continue
            stopped = {pk for pk in held if found.get(pk) != "running"}
            for pk in stopped - self._not_running:
                self.log(f"campaign {pk} is {found.get(pk, 'gone')}: its queued mail released")
            self._not_running |= stopped

    async def _flusher(self) -> None:
        s = self.settings
        beat_at = renew_at = last_progress = time.monotonic()
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), s.flush_s)
            self._flush_now.clear()
            now = time.monotonic()
            results, self._results = self._results, []
            releases, self._releases = self._releases, []
            renew = now >= renew_at + s.lease_s / 3
            beat = now >= beat_at + BEAT_S or bool(results)
            if results or releases or renew or beat:
                try:
                    await self._write(results, releases, renew)
                except Exception as exc:
                    self._results[:0] = results
                    self._releases[:0] = releases
                    failures += 1
                    if self._workers_done and failures >= 5:
                        self.log(
                            f"gave up writing the outcomes of {len(self._results)} message(s):"
                            " their leases expire and they are sent again"
                        )
                        return
                    self.log(self.relay.mask(f"could not write outcomes, will retry: {exc}"))
                    await asyncio.sleep(1.0)
                    continue
                failures = 0
                if renew:
                    renew_at = now
                beat_at = now
            if now - last_progress >= PROGRESS_S:
                last_progress = now
                self.log(self.totals.line())
            if self._workers_done and not self._results and not self._releases:
                return

    async def _write(self, results: list[Result], releases: list[int], renew: bool) -> None:
        s = self.settings
        campaigns = sorted({r.campaign_pk for r in results})
        held = [rid for rid in self._held if rid not in {r.recipient_id for r in results}]

        def work(session: Session) -> tuple[outcomes.Written, int, list[tuple[int, str]]]:
            written = outcomes.write_results(
                session,
                results,
                owner=self.id,
                retry_base_s=s.retry_base_s,
                retry_max_s=s.retry_max_s,
            )
            released = outcomes.release(session, releases, owner=self.id)
            if renew:
                outcomes.renew(session, held, owner=self.id, lease_s=s.lease_s)
            senders.beat(session, self.id, self._campaign, self._last_sent)
            fired = []
            for pk in campaigns:
                reason = alarms.check_and_pause(session, pk)
                if reason is not None:
                    fired.append((pk, reason))
            return written, released, fired

        written, released, fired = await self._db(work)
        self._unwritten -= len(results)
        self._written.set()
        for r in results:
            self._held.pop(r.recipient_id, None)
        for rid in releases:
            self._held.pop(rid, None)
        t = self.totals
        t.sent += written.sent
        t.retried += written.retried
        t.failed += written.failed
        t.bounced += written.bounced
        t.released += released
        for pk, reason in fired:
            self._not_running.add(pk)
            t.paused.append(reason)
            self.log(f"campaign {pk} paused by its alarm: {reason}")
