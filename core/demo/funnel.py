"""What happens to one delivered message: the events its recipient produces, and when.

A Funnel draws, for a message sent at time `sent` (epoch seconds), the events that follow it
(opens, clicks, replies, forwards, unsubscribes, complaints, bounces) with realistic delays,
mail-client user agents and addresses, and the recipient row those events imply (the first
open sets opened_at, a click is also an open, a bounce sets status and error, ...).
It is used by the demo loader (millions of rows: every draw is a table lookup on
random.random(), no per-event JSON encoding) and by the simulator (in compressed time).
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from itertools import accumulate
from operator import itemgetter
from statistics import NormalDist
from typing import NamedTuple, TypeVar

from core.demo import data as d
from core.events import append_verdict

# (time, event_type, event_data as JSON text or None, user_agent, ip_address)
Event = tuple[float, str, str | None, str | None, str | None]

T = TypeVar("T")  # an entry of a draw table

_TABLE = 1024
_TIME = itemgetter(0)
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0


class Rereads(NamedTuple):
    """A reader's later opens (after their first, so they never change the recipient row):
    up to `opens` of them after `after`, with this user agent, from `ips` (an address, or a
    proxy's pool to draw each from)."""

    after: float
    opens: int
    ua: str
    ips: str | list[str]
    data: str | None = None  # event_data (the machine verdict of proxy opens)


class Outcome(NamedTuple):
    """A delivered recipient's row, as its events leave it (None: not reached by `horizon`)."""

    status: str  # sent, bounced or unsubscribed
    opened: float | None
    clicked: float | None
    replied: float | None
    bounced: float | None
    error: str | None
    events: list[Event]  # in time order, up to the horizon
    rereads: Rereads | None = None


def _delays(median: float, sigma: float, lo: float, hi: float) -> list[float]:
    """Quantiles of a log-normal delay, clipped to [lo, hi]: draw with table[random * n]."""
    nd = NormalDist(0.0, sigma)
    return [
        min(hi, max(lo, median * 2.718281828459045 ** nd.inv_cdf((i + 0.5) / _TABLE)))
        for i in range(_TABLE)
    ]


def _weighted(items: Sequence[T], weights: Sequence[float]) -> list[T]:
    """A table of `_TABLE` entries in proportion to weights: draw with table[random * n]."""
    cumulative = list(accumulate(weights))
    total = cumulative[-1]
    return [items[bisect(cumulative, (i + 0.5) * total / _TABLE)] for i in range(_TABLE)]


def _json(obj: dict[str, object]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# Delay tables shared by every funnel (seconds).
MPP_FETCH = _delays(6.0, 0.8, 1.0, 45.0)  # Apple's proxy fetches right after delivery
FIRST_READ = _delays(1.6 * _HOUR, 1.5, 20.0, 14 * _DAY)
REREAD = _delays(4 * _HOUR, 1.3, 30.0, 10 * _DAY)
TO_CLICK = _delays(40.0, 1.0, 3.0, 30 * _MINUTE)
NEXT_CLICK = _delays(70.0, 1.1, 4.0, 2 * _HOUR)
TO_REPLY = _delays(2.5 * _HOUR, 1.1, 2 * _MINUTE, 5 * _DAY)
TO_FORWARD = _delays(1 * _HOUR, 1.2, 30.0, 5 * _DAY)
TO_UNSUBSCRIBE = _delays(50.0, 0.9, 5.0, 20 * _MINUTE)
TO_COMPLAIN = _delays(6 * _HOUR, 1.2, 2 * _MINUTE, 6 * _DAY)
LINK_SCAN = _delays(9.0, 0.7, 3.0, 90.0)  # a scanner follows the links on delivery
HARD_BOUNCE = _delays(8.0, 1.0, 1.0, 10 * _MINUTE)
SOFT_BOUNCE = _delays(2 * _HOUR, 1.2, 5 * _MINUTE, 3 * _DAY)

CLIENT_TABLE = _weighted(d.CLIENTS, [c.weight for c in d.CLIENTS])
MPP_SHARE = sum(c.weight for c in d.CLIENTS if c.mpp) / sum(c.weight for c in d.CLIENTS)

_READER_RATES = {"reply": 0.04, "forward": 0.03, "unsubscribe": 0.015}
UNSUBSCRIBE_UNREAD = 0.002  # from the inbox's List-Unsubscribe button, without opening
COMPLAINT_RATE = 0.0008


def _pool(rng: random.Random, network: str, n: int = 512) -> list[str]:
    """n addresses a proxy network fetches from (IPv4 and, where it has one, IPv6)."""
    v4, v6 = d.PROXY_NETWORKS[network]
    out = []
    for i in range(n):
        if v6 and i % 5 == 4:
            out.append(f"{v6[i % len(v6)]}::{rng.getrandbits(12):x}")
        else:
            prefix = v4[i % len(v4)]
            rest = [str(rng.getrandbits(8)) for _ in range(4 - prefix.count(".") - 1)]
            out.append(".".join([prefix, *rest]))
    return out


class Funnel:
    """Draws outcomes for one campaign. Not thread-safe (it owns its random state)."""

    def __init__(
        self,
        rng: random.Random,
        *,
        open_rate: float,
        click_rate: float,
        name: str,
        links: tuple[str, ...],
        bounce_rate: float | None = None,
        repeat_opens: float = 0.7,
        clicks_per_clicker: float = 1.5,
    ) -> None:
        self.rng = rng
        self.rnd = rng.random
        self.bounce_rate = rng.uniform(0.012, 0.03) if bounce_rate is None else bounce_rate
        delivered = 1.0 - self.bounce_rate
        # MPP readers' mailboxes "open" everything, so the human read rate is what's left.
        self.read_rate = min(0.95, max(0.02, (open_rate / delivered - MPP_SHARE) / (1 - MPP_SHARE)))
        self.click_given_read = min(0.8, click_rate / delivered / self.read_rate)
        self.repeat_opens = repeat_opens
        self.readers = 0  # outcomes with a human read, and the repeat opens drawn for them
        self.repeats = 0
        self.clicks_per_clicker = clicks_per_clicker
        links = links or ("https://www.example.com/?utm_source=newsletter&utm_medium=email",)
        self.click_data = [_json({"link_url": url, "link_index": i}) for i, url in enumerate(links)]
        # Events the machine rules (core.events.machine) mark: stored with their verdict, as
        # core.events.record would have stored them.
        self.scan_data = [append_verdict(data, "scanner-ua") for data in self.click_data]
        self.mpp_data = append_verdict(None, "apple-mpp")
        # Readers click the first links far more often than the last ones.
        self.link_table = _weighted(self.click_data, [1.0 / (i + 1) for i in range(len(links))])
        self.bounce_table = _weighted(d.BOUNCES, [b.weight for b in d.BOUNCES])
        self.bounce_data = {
            b: _json(
                {
                    "bounce_type": b.bounce_type,
                    "error_code": b.code,
                    "enhanced_status": b.enhanced,
                    "error_message": b.message,
                }
            )
            for b in d.BOUNCES
        }
        self.reply_data = (
            _json({"subject": f"Re: {name}"}),
            _json({"subject": f"Automatic reply: {name}", "auto_reply": True}),
        )
        self.forward_data = tuple(_json({"forwarded_to": n}) for n in (1, 1, 1, 2, 3))
        unsubscribe_link = "https://www.example.com/unsubscribe?list=newsletter"
        self.unsubscribe_data = tuple(
            _json({"method": m, "link_url": unsubscribe_link} if m == "link" else {"method": m})
            for m in d.UNSUBSCRIBE_METHODS
        )
        self.complaint_data = tuple(
            _json({"feedback_type": "abuse", "provider": p}) for p in d.COMPLAINT_PROVIDERS
        )
        self.pools = {net: _pool(rng, net) for net in d.PROXY_NETWORKS}
        self.mx_pool = [
            f"{p}.{rng.getrandbits(8)}.{rng.getrandbits(8)}"
            for p in d.MX_V4_PREFIXES
            for _ in range(32)
        ]

    # --- draws ---------------------------------------------------------------------------

    def _pick(self, table: Sequence[T]) -> T:
        return table[int(self.rnd() * len(table))]

    def _delay(self, table: list[float]) -> float:
        return table[int(self.rnd() * _TABLE)] * (0.95 + 0.1 * self.rnd())

    def device_ip(self) -> str:
        rnd, bits = self.rnd, self.rng.getrandbits
        if rnd() < d.DEVICE_V6_SHARE:
            p = d.DEVICE_V6_PREFIXES[int(rnd() * len(d.DEVICE_V6_PREFIXES))]
            groups = [f"{bits(16):x}" for _ in range(7 - p.count(":"))]
            return ":".join([p, *groups])
        first = d.DEVICE_V4_PREFIXES[int(rnd() * len(d.DEVICE_V4_PREFIXES))]
        r = bits(24)
        return f"{first}.{r >> 16}.{(r >> 8) & 255}.{(r & 255) or 1}"

    # --- one recipient -------------------------------------------------------------------

    def outcome(self, sent: float, horizon: float) -> Outcome:
        """The events after a message delivered at `sent`, those up to `horizon` only."""
        rnd = self.rnd
        if rnd() < self.bounce_rate:
            return self._bounce(sent, horizon)
        events: list[Event] = []
        client = CLIENT_TABLE[int(rnd() * _TABLE)]
        device_ip = rereads = None
        data: str | None
        proxied = client.open_net != "device"
        if client.mpp:
            pool = self.pools["apple"]
            ip = pool[int(rnd() * len(pool))]
            at = sent + self._delay(MPP_FETCH)
            events.append((at, "open", self.mpp_data, d.UA_APPLE_MPP, ip))
        elif client.scanned and rnd() < client.scanned:
            pool = self.pools["microsoft"]
            ip = pool[int(rnd() * len(pool))]
            at = sent + self._delay(LINK_SCAN)
            for data in self.scan_data:
                at += 0.2 + rnd()
                events.append((at, "click", data, d.UA_LINK_SCANNER, ip))
        status = "sent"
        if rnd() < self.read_rate:
            device_ip = self.device_ip()
            click_ua = client.click_ua
            t = sent + self._delay(FIRST_READ)
            ua = client.open_ua
            ips: str | list[str]
            if proxied:
                ips = pool = self.pools[client.open_net]
                ip = pool[int(rnd() * len(pool))]
            else:
                ips = ip = device_ip
            data = self.mpp_data if client.mpp else None
            events.append((t, "open", data, ua, ip))
            repeats = int(rnd() * 2 * self.repeat_opens + 0.5)
            self.readers += 1
            self.repeats += repeats
            if repeats:
                rereads = Rereads(t, repeats, ua, ips, data)
            if rnd() < self.click_given_read:
                ct = t + self._delay(TO_CLICK)
                events.append((ct, "click", self._pick(self.link_table), click_ua, device_ip))
                for _ in range(int(rnd() * 2 * (self.clicks_per_clicker - 1) + 0.5)):
                    ct += self._delay(NEXT_CLICK)
                    events.append((ct, "click", self._pick(self.link_table), click_ua, device_ip))
            r = rnd()
            if r < _READER_RATES["reply"]:
                data = self.reply_data[1 if rnd() < 0.2 else 0]
                events.append((t + self._delay(TO_REPLY), "reply", data, None, None))
            elif r < _READER_RATES["reply"] + _READER_RATES["forward"]:
                data = self._pick(self.forward_data)
                events.append((t + self._delay(TO_FORWARD), "forward", data, click_ua, device_ip))
            elif r < sum(_READER_RATES.values()):
                status = "unsubscribed"
                data = self._pick(self.unsubscribe_data)
                at = t + self._delay(TO_UNSUBSCRIBE)
                events.append((at, "unsubscribe", data, click_ua, device_ip))
        if status == "sent":
            r = rnd()
            if r < COMPLAINT_RATE:
                status = "unsubscribed"
                data = self._pick(self.complaint_data)
                events.append((sent + self._delay(TO_COMPLAIN), "complain", data, None, None))
            elif r < COMPLAINT_RATE + UNSUBSCRIBE_UNREAD:
                status = "unsubscribed"
                data = self.unsubscribe_data[0]
                events.append((sent + self._delay(TO_COMPLAIN), "unsubscribe", data, None, None))
        return self._finish(events, horizon, rereads)

    def _bounce(self, sent: float, horizon: float) -> Outcome:
        b = self.bounce_table[int(self.rnd() * _TABLE)]
        at = sent + self._delay(HARD_BOUNCE if b.bounce_type == "permanent" else SOFT_BOUNCE)
        if at > horizon:
            return Outcome("sent", None, None, None, None, None, [])
        ip = self.mx_pool[int(self.rnd() * len(self.mx_pool))]
        event = (at, "bounce", self.bounce_data[b], None, ip)
        return Outcome("bounced", None, None, None, at, b.message, [event])

    @staticmethod
    def _finish(events: list[Event], horizon: float, rereads: Rereads | None) -> Outcome:
        """The recipient row these events leave: first times, and the status they set."""
        if not events:
            return Outcome("sent", None, None, None, None, None, events)
        events.sort(key=_TIME)
        if events[-1][0] > horizon:
            events = [e for e in events if e[0] <= horizon]
            if rereads is not None and rereads.after > horizon:
                rereads = None
        opened = clicked = replied = None
        status = "sent"
        for t, kind, _, _, _ in events:
            if kind == "open" or kind == "click":
                if opened is None:
                    opened = t
                if kind == "click" and clicked is None:
                    clicked = t
            elif kind == "reply":
                if replied is None:
                    replied = t
            elif kind == "unsubscribe" or kind == "complain":
                status = "unsubscribed"
        return Outcome(status, opened, clicked, replied, None, None, events, rereads)

    def reread_times(self, rereads: Rereads, horizon: float) -> Iterator[tuple[float, str]]:
        """(time, ip) of each later open, up to the horizon."""
        rnd, ips = self.rnd, rereads.ips
        pool, fixed = (None, ips) if isinstance(ips, str) else (ips, "")
        t = rereads.after
        for _ in range(rereads.opens):
            t += REREAD[int(rnd() * _TABLE)] * (0.95 + 0.1 * rnd())
            if t > horizon:
                return
            yield t, (fixed if pool is None else pool[int(rnd() * len(pool))])

    def all_events(self, outcome: Outcome, horizon: float) -> list[Event]:
        """The outcome's events with its later opens, in time order (for the simulator)."""
        events = list(outcome.events)
        r = outcome.rereads
        if r is not None:
            events += [(t, "open", r.data, r.ua, ip) for t, ip in self.reread_times(r, horizon)]
            events.sort(key=_TIME)
        return events
