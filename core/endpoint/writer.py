"""The hit writer: hits that arrive together are written together, and each is answered only
once it is durable, in the database or in the spool.

A request hands its hit to submit() and waits. A writer task takes every hit waiting (after
`max_wait` for more to join, up to `batch_size`), records them with one record_events call in
a thread, one transaction, and resolves each waiting request with its outcome. `writers` such
tasks run at once, so a batch is being gathered while another commits. When the database
can't be written, the batch goes to the spool (fsynced) instead and the spool stays on: later
hits go there too, in order, until the replayer (a thread, trying every `replay_every`
seconds) has written everything in it. A hit that reaches neither raises WriteFailed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence

from core import config
from core.endpoint.hits import Hit
from core.endpoint.metrics import Metrics
from core.endpoint.spool import Spool
from core.events import BatchResult, record_events
from core.store import Database

log = logging.getLogger("core.endpoint.writer")

RECORDED, SPOOLED, REJECTED = "recorded", "spooled", "rejected"
ADOPT_EVERY = 10.0  # seconds between looks for the spool files of dead workers


def timeout_settings(write_timeout: float) -> dict[str, str]:
    """The writer's connections' settings: a batch stuck longer than `write_timeout` seconds
    (behind another transaction's locks, say) is cancelled and goes to the spool instead of
    holding its requests: answered, and replayed once the locks are gone. Set when the
    connection is made, so a batch spends no round trip on it."""
    return {"statement_timeout": str(max(1, round(write_timeout * 1000)))}


class WriteFailed(Exception):
    """The hit is neither in the database nor in the spool (the disk refused it too)."""


_Waiting = tuple[Hit, "asyncio.Future[str]"]


class Writer:
    def __init__(
        self,
        db: Database,
        spool: Spool,
        metrics: Metrics,
        *,
        batch_size: int = 256,
        max_wait: float = 0.001,
        writers: int = 2,
        replay_every: float = 0.5,
    ) -> None:
        """`db`: the writer's own, whose connections carry the write timeout (timeout_settings)."""
        self.db = db
        self.spool = spool
        self.metrics = metrics
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.writers = writers
        self.replay_every = replay_every
        # One queue that every writer takes from: while one batch commits, the next is gathered
        # and written by another writer, so the requests' HTTP work overlaps the commits.
        self._queue: asyncio.Queue[_Waiting | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._replayer: threading.Thread | None = None
        self._down_logged = False

    # --- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.spool.open)  # adopts what dead workers left
        self._tasks = [asyncio.create_task(self._run(self._queue)) for _ in range(self.writers)]
        self._replayer = threading.Thread(
            target=self._replay_loop, name="spool replay", daemon=True
        )
        self._replayer.start()
        self._wake.set()

    async def stop(self) -> None:
        """Answer every hit already handed in, try the spool once more, let the files go."""
        for _ in self._tasks:
            self._queue.put_nowait(None)
        await asyncio.gather(*self._tasks)
        self._stopping.set()
        self._wake.set()
        if self._replayer is not None:
            await asyncio.to_thread(self._replayer.join)
        await asyncio.to_thread(self._replay_once)
        await asyncio.to_thread(self.spool.close)

    # --- the request side ---------------------------------------------------------------------

    async def submit(self, hit: Hit) -> str:
        """Waits until the hit is committed (RECORDED, or REJECTED when core refused it: an
        unknown or never-sent recipient) or spooled (SPOOLED); WriteFailed otherwise."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((hit, future))
        outcome = await future
        self.metrics.hit(hit.kind, outcome)
        return outcome

    # --- the writer tasks ---------------------------------------------------------------------

    async def _run(self, queue: asyncio.Queue[_Waiting | None]) -> None:
        stopping = False
        while not stopping:
            first = await queue.get()
            if first is None:
                return
            batch = [first]
            stopping = self._take(queue, batch)
            if len(batch) < self.batch_size and self.max_wait > 0 and not stopping:
                await asyncio.sleep(self.max_wait)
                stopping = self._take(queue, batch)
            hits = [hit for hit, _ in batch]
            try:
                outcomes = await asyncio.to_thread(self._write, hits)
            except OSError as exc:
                log.error("a batch of %d hits could not be spooled: %s", len(hits), exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(WriteFailed(str(exc)))
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():  # its request may have been cancelled
                    future.set_result(outcome)

    def _take(self, queue: asyncio.Queue[_Waiting | None], batch: list[_Waiting]) -> bool:
        """Move waiting hits into the batch; True when a stop signal was met."""
        while len(batch) < self.batch_size:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    def _write(self, hits: Sequence[Hit]) -> list[str]:
        """In a thread: the batch into the database, else into the spool."""
        if self.spool.active and self.spool.append(hits, only_if_active=True):
            return [SPOOLED] * len(hits)
        started = time.perf_counter()
        try:
            result = self._commit(hits)
        except Exception as exc:
            self._note_down(exc)
            self.spool.append(hits)  # OSError goes up: the requests fail
            self._wake.set()
            return [SPOOLED] * len(hits)
        self.metrics.batch(len(hits), time.perf_counter() - started)
        outcomes = [RECORDED] * len(hits)
        for error in result.rejected:
            outcomes[error.line - 1] = REJECTED
        return outcomes

    def _commit(self, hits: Sequence[Hit]) -> BatchResult:
        events = [h.event() for h in hits]
        return self.db.run(lambda session: record_events(session, events, skip_invalid=True))

    def _note_down(self, exc: BaseException) -> None:
        if not self._down_logged:
            self._down_logged = True
            message = config.mask_secrets(str(exc).splitlines()[0] if str(exc) else "", self.db.url)
            log.warning(
                "database not writable (%s: %s); spooling hits", type(exc).__name__, message
            )

    # --- the replayer -------------------------------------------------------------------------

    def _replay_loop(self) -> None:
        last_adopt = time.monotonic()
        while not self._stopping.is_set():
            self._wake.wait(self.replay_every)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if time.monotonic() - last_adopt > ADOPT_EVERY:
                last_adopt = time.monotonic()
                try:
                    self.spool.adopt()
                except OSError as exc:
                    log.error("could not look for spool files to adopt: %s", exc)
            self._replay_once()

    def _replay_once(self) -> None:
        if not self.spool.pending():
            return
        try:
            n = self.spool.replay(self._replayed)
        except Exception as exc:
            self._note_down(exc)
            return
        if n:
            log.warning("replayed %d spooled hits into the database", n)
        if not self.spool.active:
            self._down_logged = False

    def _replayed(self, hits: list[Hit]) -> None:
        started = time.perf_counter()
        self._commit(hits)
        self.metrics.batch(len(hits), time.perf_counter() - started)
