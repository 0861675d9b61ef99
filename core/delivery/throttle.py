"""How fast the sender may go: messages per second (a token bucket), per hour (a sliding
window of one hour, as listmonk's), messages in flight per recipient domain, and a backoff
when the relay says 421 or 4.7.x. All of it asyncio, one event loop."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

HOUR_S = 3600.0
MAX_PER_HOUR = 10_000_000


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; acquire() waits for one."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = max(1.0, burst if burst is not None else rate)
        self._tokens = self.capacity
        self._at = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class SlidingWindow:
    """At most `limit` messages in any `window_s` (an hour): the times of the last `limit`
    sends are kept, and a send waits until the oldest of them is a window old."""

    def __init__(self, limit: int, window_s: float = HOUR_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while len(self._times) >= self.limit:
                wait = self._times[0] + self.window_s - time.monotonic()
                if wait <= 0:
                    self._times.popleft()
                else:
                    await asyncio.sleep(wait)
            self._times.append(time.monotonic())


class DomainLimit:
    """At most `limit` messages in flight to one recipient domain at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, asyncio.Semaphore] = {}
        self._users: collections.Counter[str] = collections.Counter()

    @asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[None]:
        domain = address.rpartition("@")[2].lower()
        gate = self._open.setdefault(domain, asyncio.Semaphore(self.limit))
        self._users[domain] += 1
        try:
            async with gate:
                yield
        finally:
            self._users[domain] -= 1
            if not self._users[domain]:
                del self._users[domain], self._open[domain]


class Backoff:
    """The relay asked us to slow down (421, 4.7.x): every connection waits, the wait
    doubling from `first_s` to `max_s` while it keeps asking, reset by a success."""

    def __init__(self, first_s: float = 1.0, max_s: float = 60.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._delay = 0.0
        self._until = 0.0

    def slow_down(self) -> float:
        self._delay = min(self.max_s, self._delay * 2 if self._delay else self.first_s)
        self._until = max(self._until, time.monotonic() + self._delay)
        return self._delay

    def ok(self) -> None:
        self._delay = 0.0

    async def wait(self) -> None:
        while (left := self._until - time.monotonic()) > 0:
            await asyncio.sleep(left)


class Throttle:
    """Everything a message waits for before it goes: backoff, per second, per hour."""

    def __init__(
        self,
        per_second: float | None,
        per_hour: int | None,
        backoff: Backoff,
    ) -> None:
        self.per_second = TokenBucket(per_second) if per_second else None
        self.per_hour = SlidingWindow(per_hour) if per_hour else None
        self.backoff = backoff

    async def wait(self) -> None:
        await self.backoff.wait()
        if self.per_second is not None:
            await self.per_second.acquire()
        if self.per_hour is not None:
            await self.per_hour.acquire()
