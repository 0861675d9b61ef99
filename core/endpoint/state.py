"""What one worker process holds while it serves: the database, the hit writer, the keyring
(loaded at start and refreshed on a timer, never read per request) and a cache of links."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator

from core.endpoint.hits import Hit
from core.endpoint.metrics import Metrics
from core.endpoint.settings import EndpointSettings
from core.endpoint.spool import Spool
from core.endpoint.writer import RECORDED, REJECTED, Writer, timeout_settings
from core.errors import InvalidInput
from core.events import record_event
from core.store import Database
from core.tracking import KeyRing, link_url, load_keyring

log = logging.getLogger("core.endpoint")

KEYRING_RETRY = 1.0  # seconds between tries while the first keyring can't be read


class Endpoint:
    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.db = Database(settings.database_url)
        self.writer = Writer(
            Database(settings.database_url, settings=timeout_settings(settings.write_timeout_s)),
            Spool(settings.spool_dir, self.metrics),
            self.metrics,
            batch_size=settings.batch_size,
            max_wait=settings.max_wait_ms / 1000,
            writers=settings.writers,
            replay_every=settings.replay_every_s,
        )
        self.ring: KeyRing | None = None
        self._links: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._refresh: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object) -> AsyncIterator[None]:
        await self.writer.start()
        await self._load_ring()
        self._refresh = asyncio.create_task(self._refresh_ring())
        try:
            yield
        finally:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
            await self.writer.stop()
            self.writer.db.close()
            self.db.close()

    # --- the keyring --------------------------------------------------------------------------

    async def _load_ring(self) -> bool:
        try:
            self.ring = await asyncio.to_thread(self.db.run, load_keyring)
            return True
        except Exception as exc:
            log.warning("could not read the tracking keys (%s); trying again", type(exc).__name__)
            return False

    async def _refresh_ring(self) -> None:
        while True:
            wait = self.settings.keyring_refresh_s if self.ring is not None else KEYRING_RETRY
            await asyncio.sleep(wait)
            await self._load_ring()

    # --- links --------------------------------------------------------------------------------

    async def link(self, campaign_pk: int, position: int) -> str | None:
        """The campaign's link at this position (None: it has none). From the cache, else
        the database; raises what the database raises."""
        key = (campaign_pk, position)
        url = self._links.get(key)
        if url is not None:
            self._links.move_to_end(key)
            return url
        url = await asyncio.to_thread(self._read_link, campaign_pk, position)
        if url is not None:
            self._links[key] = url
            while len(self._links) > self.settings.link_cache_size:
                self._links.popitem(last=False)
        return url

    def _read_link(self, campaign_pk: int, position: int) -> str | None:
        with self.db.reading() as session:
            return link_url(session, campaign_pk, position)

    # --- writing a hit ------------------------------------------------------------------------

    async def record(self, hit: Hit) -> str:
        """The hit's outcome once it is durable (see Writer.submit); WriteFailed otherwise."""
        mode = self.settings.writes
        if mode == "batched":
            return await self.writer.submit(hit)
        if mode == "none":
            self.metrics.hit(hit.kind, "not-written")
            return "not-written"
        outcome = await asyncio.to_thread(self._one_transaction, hit)
        self.metrics.hit(hit.kind, outcome)
        return outcome

    def _one_transaction(self, hit: Hit) -> str:
        """As listmonk writes a hit: a transaction of its own (the benchmark's baseline)."""
        try:
            self.db.run(lambda session: record_event(session, hit.event()))
        except InvalidInput:
            return REJECTED
        return RECORDED
