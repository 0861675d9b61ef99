"""The demo's recipients on the real path: a local SMTP sink (aiosmtpd) that accepts the
sender's messages, and for each one plays its recipient through the message itself.

For each message received, the campaign's funnel (core.demo.funnel, as the direct simulator
draws it, in the same compressed time) decides whether and when its recipient opens and
clicks; when the time comes the open is a GET of the message's pixel URL, a click a GET of one
of its tracked links, an unsubscribe the RFC 8058 one-click POST to its List-Unsubscribe URL,
each with the mail client's User-Agent and its address in X-Forwarded-For (the endpoint
believes it from loopback only when started with --trusted-proxy 127.0.0.1/32). Machine opens
(Apple's MPP proxy, link scanners) are fetched as those machines do. Nothing here touches the
database: what is recorded is what the endpoint records.

Bounces are the sink's answers: an address whose hash falls in BOUNCE_PER_MILLE is refused
at RCPT with 550 5.1.1 (the sender records the hard bounce), every other one gets 250.
Replies, forwards and complaints have no path through an SMTP sink and are not played.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session

from core.demo.funnel import Funnel
from core.demo.simulator import TIME_SCALE, compressed, demo_funnel
from core.tracking.ids import HEADER_CAMPAIGN

log = logging.getLogger(__name__)

BOUNCE_PER_MILLE = 15  # 1.5 % of the addresses don't exist (below the 5 % bounce alarm)
MAX_WAITING = 200_000  # events scheduled at most (older messages' later opens are dropped)
CONCURRENCY = 16  # HTTP requests in flight at most
PLAYED = ("open", "click", "unsubscribe")


def bounces(address: str) -> bool:
    """Does the sink refuse this address (550 5.1.1)? The same answer every time."""
    return zlib.crc32(address.strip().lower().encode()) % 1000 < BOUNCE_PER_MILLE


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.pixel: str | None = None
        self.clicks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and "/click/" in (values.get("href") or ""):
            self.clicks.append(values["href"] or "")
        elif tag == "img" and (values.get("src") or "").endswith("/open"):
            self.pixel = values["src"]


@dataclass(frozen=True)
class Received:
    """What a recipient can do with a message: its campaign and tracking URLs."""

    campaign_id: str
    pixel: str | None
    clicks: tuple[str, ...]
    unsubscribe: str | None


def read_message(raw: bytes) -> Received | None:
    """The campaign and the tracking URLs of a received message (None: not a campaign's)."""
    m = message_from_bytes(raw, policy=policy.default)
    assert isinstance(m, EmailMessage)
    campaign_id = str(m.get(HEADER_CAMPAIGN, "")).strip()
    body = m.get_body(("html",))
    if not campaign_id or body is None:
        return None
    found = _Links()
    found.feed(str(body.get_content()))
    unsubscribe = str(m.get("List-Unsubscribe", "")).strip().strip("<>") or None
    return Received(campaign_id, found.pixel, tuple(found.clicks), unsubscribe)


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    kind: str = field(compare=False)
    url: str = field(compare=False)
    ua: str | None = field(compare=False)
    ip: str | None = field(compare=False)


class Recipients:
    """The simulated recipients: schedules each received message's opens and clicks, and
    fetches them when due. `clock` and `fetch` are the loop's time and an HTTP call."""

    def __init__(self, seed: int | None = None, time_scale: float = TIME_SCALE) -> None:
        self.rng = random.Random(seed)
        self.time_scale = time_scale
        self.funnels: dict[str, Funnel] = {}
        self.heap: list[_Due] = []
        self.seq = itertools.count()
        self.totals: Counter[str] = Counter()

    def schedule(self, message: Received, now: float) -> int:
        """Draw what the recipient does with the message; the number of requests scheduled."""
        funnel = self.funnels.get(message.campaign_id)
        if funnel is None:
            funnel = self.funnels[message.campaign_id] = demo_funnel(self.rng, message.campaign_id)
        outcome = funnel.outcome(0.0, float("inf"))
        if outcome.status == "bounced":  # bounces are the sink's 550s, not drawn here
            return 0
        n = 0
        for t, kind, data, ua, ip in funnel.all_events(outcome, float("inf")):
            url = self._url(message, kind, data)
            if url is None or len(self.heap) >= MAX_WAITING:
                continue
            at = now + compressed(self.rng, t, self.time_scale)
            heapq.heappush(self.heap, _Due(at, next(self.seq), kind, url, ua, ip))
            n += 1
        self.totals["received"] += 1
        return n

    @staticmethod
    def _url(message: Received, kind: str, data: str | None) -> str | None:
        if kind not in PLAYED:
            return None
        if kind == "open":
            return message.pixel
        values = json.loads(data) if data else {}
        if kind == "unsubscribe":  # the inbox's button: RFC 8058's one-click POST
            return message.unsubscribe if values.get("method") == "list-unsubscribe-post" else None
        if not message.clicks:
            return None
        return message.clicks[int(values.get("link_index", 0)) % len(message.clicks)]

    def due(self, now: float) -> list[_Due]:
        out = []
        while self.heap and self.heap[0].at <= now:
            out.append(heapq.heappop(self.heap))
        return out

    def next_at(self) -> float | None:
        return self.heap[0].at if self.heap else None


class Sink:
    """aiosmtpd's handler: 550 5.1.1 for the addresses that bounce, 250 for the rest, and
    each accepted message handed to `received` (its bytes)."""

    def __init__(self, received: Callable[[bytes], None]) -> None:
        self.received = received

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if bounces(address):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        for _ in envelope.rcpt_tos:
            self.received(content)
        return "250 OK: queued"


async def _fetch(client: httpx.AsyncClient, item: _Due, totals: Counter[str]) -> None:
    headers = {"User-Agent": item.ua or "Mozilla/5.0"}
    if item.ip:
        headers["X-Forwarded-For"] = item.ip
    try:
        if item.kind == "unsubscribe":
            body = "List-Unsubscribe=One-Click"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = await client.post(item.url, content=body, headers=headers)
        else:
            response = await client.get(item.url, headers=headers)
        totals[f"{item.kind} {response.status_code}"] += 1
    except httpx.HTTPError as exc:
        totals[f"{item.kind} failed"] += 1
        log.debug("%s %s: %s", item.kind, item.url, exc)


def _summary(people: Recipients) -> str:
    done = ", ".join(f"{v} {k}" for k, v in sorted(people.totals.items())) or "nothing yet"
    return f"{done}; {len(people.heap)} waiting"


async def serve(
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    seed: int | None = None,
    time_scale: float = TIME_SCALE,
    ready: Callable[[int], None] | None = None,
    report_every: float = 10.0,
) -> Counter[str]:
    """The sink on host:port (0: a free one, given to `ready`) and the recipients, until
    `stop` is set; the totals of what was received and fetched."""
    loop = asyncio.get_running_loop()
    people = Recipients(seed, time_scale)
    wake = asyncio.Event()

    def received(raw: bytes) -> None:
        message = read_message(raw)
        if message is None:
            people.totals["not a campaign's"] += 1
            return
        if message.campaign_id not in people.funnels:
            log.info("first message received for %s", message.campaign_id)
        if people.schedule(message, time.monotonic()):
            wake.set()

    sink = Sink(received)

    def factory() -> Any:
        return SMTP(sink, hostname="sink.localhost", data_size_limit=10 * 1024 * 1024)

    server = await loop.create_server(factory, host, port)
    bound = server.sockets[0].getsockname()[1]
    log.info("SMTP sink on %s:%d", host, bound)
    if ready is not None:
        ready(bound)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    inflight: set[asyncio.Task[None]] = set()
    gate = asyncio.Semaphore(CONCURRENCY)
    reported = time.monotonic()

    async def one(client: httpx.AsyncClient, item: _Due) -> None:
        async with gate:
            await _fetch(client, item, people.totals)

    async with httpx.AsyncClient(timeout=10.0, limits=limits, follow_redirects=False) as client:
        try:
            while not stop.is_set():
                now = time.monotonic()
                for item in people.due(now):
                    task = asyncio.create_task(one(client, item))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                if now - reported >= report_every:
                    log.info("%s", _summary(people))
                    reported = now
                nxt = people.next_at()
                wait = 1.0 if nxt is None else min(1.0, max(0.01, nxt - time.monotonic()))
                wake.clear()
                stop_wait = asyncio.ensure_future(stop.wait())
                wake_wait = asyncio.ensure_future(wake.wait())
                await asyncio.wait(
                    {stop_wait, wake_wait}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                stop_wait.cancel()
                wake_wait.cancel()
        finally:
            server.close()
            await server.wait_closed()
            if inflight:
                await asyncio.wait(inflight, timeout=5)
            log.info("stopped: %s", _summary(people))
    return people.totals
