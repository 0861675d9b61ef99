"""A traffic simulator: the sender and the recipients of running campaigns, in compressed time.

Each step (a few times a second) is one transaction through the core API: start scheduled
campaigns whose time has come, claim pending recipients (claim_batch: pending -> queued),
hand the claimed ones over a moment later (mark_sent / mark_failed), and record the events
whose time has come (record_events: opens, clicks, replies, bounces, unsubscribes, ...).
What each recipient does is drawn by core.demo.funnel when its message is sent, with the
delays of real mail compressed (an hour becomes seconds) and kept in an in-memory heap.

About `rate` writes per second in all, counting each recipient claimed for sending and
each event recorded: due events go first, sends get what is left. A paused campaign gets
nothing (its due events wait) until it runs again; a campaign is completed when no
recipient is pending or queued and none of its events are left to record. `step(now)`
takes the time from the caller, so tests need no sleeping.

The step's transaction is core.demo.step: given the simulator's state as values, it returns
an Outcome, which the Simulator applies to its own state once the transaction committed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

from psycopg.errors import ReadOnlySqlTransaction
from sqlalchemy.exc import DBAPIError

from core.campaigns import resolve_campaign
from core.demo import data as d
from core.demo.funnel import Funnel
from core.demo.step import CampaignState, Due, Outcome, Step, StepInput, StepResult
from core.errors import DatabaseFailed, DatabaseUnavailable, InvalidInput, ReadOnly
from core.store import Database

log = logging.getLogger(__name__)

TIME_SCALE = 1 / 240  # a 4-hour delay becomes a minute
MAX_DELAY = 15 * 60.0  # no event waits longer than this (seconds of simulated time)
# delays a person needs stay this long, or core.events.machine calls them too-fast
HUMAN_FLOOR = 3.0
BURST_SECONDS = 2.0  # unused budget carried over at most
IDLE_TICK = 2.0


def demo_funnel(rng: random.Random, campaign_id: str) -> Funnel:
    """A campaign's funnel: a demo campaign's own rates and links, or drawn ones."""
    plan = next((p for p in d.SMALL_CAMPAIGNS if d.DEMO_PREFIX + p.slug == campaign_id), None)
    if plan is not None and plan.links:
        rates, name, links = (plan.open_rate, plan.click_rate), plan.name, plan.links
    else:
        rates = (rng.uniform(0.25, 0.45), rng.uniform(0.03, 0.08))
        name = campaign_id
        links = ("https://www.example.com/?utm_source=newsletter&utm_medium=email",)
    return Funnel(rng, open_rate=rates[0], click_rate=rates[1], name=name, links=links)


def compressed(rng: random.Random, real: float, time_scale: float = TIME_SCALE) -> float:
    """A real-world delay in compressed time; those a person needs stay human."""
    scaled = min(MAX_DELAY, real * time_scale)
    return max(scaled, min(real, HUMAN_FLOOR + 2 * rng.random()))


def check_rate(rate: float) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        raise InvalidInput(f"The rate is a number of writes per second above 0, not {rate!r}.")
    return float(rate)


class Simulator:
    """Sender and recipients for the running campaigns (all, the demo's, or one)."""

    def __init__(
        self,
        db: Database,
        campaign: int | str | None = None,
        *,
        rate: float = 50.0,
        seed: int | None = None,
        demo_only: bool = False,
        time_scale: float = TIME_SCALE,
    ) -> None:
        self.db = db
        self.rate = check_rate(rate)
        self.demo_only = demo_only
        self.time_scale = time_scale
        self.rng = random.Random(seed)
        self.campaigns: dict[int, CampaignState] = {}
        self.heap: list[Due] = []  # the events drawn for messages sent, by due time
        self._seq = itertools.count()
        self._tokens = 0.0
        self._last: float | None = None
        self._unstartable: set[int] = set()
        self._adopt = True  # look for queued recipients nobody sends (first step, after errors)
        self._only: int | None = None
        self._funnels: dict[int, Funnel] = {}
        if campaign is not None:
            with db.reading() as session:
                self._only = resolve_campaign(session, campaign).id

    # --- one step ----------------------------------------------------------------------

    def step(self, now: datetime | None = None) -> StepResult:
        """Do what is due at `now` (default: the clock) in one transaction."""
        now = now or datetime.now(UTC)
        t = now.timestamp()
        if self._last is None:
            budget = self.rate / 5
        else:
            budget = self._tokens + self.rate * max(0.0, t - self._last)
            budget = min(budget, self.rate * BURST_SECONDS)
        given = StepInput(
            now=now,
            due=self._pop_due(t, int(budget)),
            budget=budget,
            campaigns=self.campaigns,
            only=self._only,
            demo_only=self.demo_only,
            adopt=self._adopt,
            unstartable=frozenset(self._unstartable),
            rng=self.rng,
            funnel=self.funnel,
            delay=self.delay,
            seq=self._seq,
        )
        try:
            outcome = self.db.run(lambda session: Step(given, session).run())
        except BaseException:
            for item in given.due:
                heapq.heappush(self.heap, item)
            self._adopt = True  # a commit may have been lost: find queued ones again
            raise
        self._last = t
        self._tokens = outcome.budget_left
        self._adopt = False
        self._apply(outcome)
        return outcome.result

    def _pop_due(self, t: float, limit: int) -> list[Due]:
        due: list[Due] = []
        while self.heap and self.heap[0].at <= t and len(due) < limit:
            due.append(heapq.heappop(self.heap))
        return due

    def _apply(self, out: Outcome) -> None:
        """The committed step's outcome, into the simulator's memory."""
        self._unstartable |= out.unstartable
        for pk, seen in out.statuses.items():
            c = self.campaigns.get(pk)
            if c is None:
                c = CampaignState(
                    pk, seen.campaign_id, seen.status, self.funnel(pk, seen.campaign_id)
                )
                self.campaigns[pk] = c
            c.status = seen.status
        for pk in out.gone:
            self._forget(pk)
        for pk, done in out.handed.items():  # sent or failed: no longer held
            c = self.campaigns.get(pk)
            if c is not None:
                c.inflight = [i for i in c.inflight if i.rid not in done]
        for pk, items in out.claimed.items():
            if pk in self.campaigns:
                self.campaigns[pk].inflight.extend(items)
        for pk, exhausted in out.exhausted.items():
            if pk in self.campaigns:
                self.campaigns[pk].exhausted = exhausted
        for pk, n in out.consumed.items():
            if pk in self.campaigns:
                self.campaigns[pk].outstanding -= n
        for item in out.parked:
            c = self.campaigns.get(item.pk)
            if c is not None:
                c.parked.append(item)
        for item in out.scheduled:
            c = self.campaigns.get(item.pk)
            if c is not None:
                c.outstanding += 1
                heapq.heappush(self.heap, item)
        for c in self.campaigns.values():
            if c.status == "running" and c.parked:
                # Resumed: the held events come due again, a little apart.
                for item in c.parked:
                    heapq.heappush(self.heap, item._replace(at=out.now + self.rng.random() * 2))
                c.parked = []
        for pk in [pk for pk, c in self.campaigns.items() if c.status not in ("running", "paused")]:
            self._forget(pk)

    def _forget(self, pk: int) -> None:
        self.campaigns.pop(pk, None)
        self._funnels.pop(pk, None)

    def funnel(self, pk: int, campaign_id: str) -> Funnel:
        """The campaign's funnel: a demo campaign's own rates and links, or drawn ones."""
        if pk not in self._funnels:
            self._funnels[pk] = self._new_funnel(campaign_id)
        return self._funnels[pk]

    def _new_funnel(self, campaign_id: str) -> Funnel:
        return demo_funnel(self.rng, campaign_id)

    def delay(self, real: float) -> float:
        """A real-world delay in compressed time; those a person needs stay human."""
        return compressed(self.rng, real, self.time_scale)

    # --- running -------------------------------------------------------------------------

    def run(
        self,
        rate: float | None = None,
        duration: float | None = None,
        stop_event: threading.Event | None = None,
        *,
        tick: float = 0.15,
        report_every: float = 10.0,
    ) -> None:
        """Step every `tick` seconds (at `rate` writes/s, if given) until `stop_event` is set
        or `duration` seconds have passed. Database errors (a restart, say) are logged and
        retried with backoff; a read-only session raises ReadOnly (retrying can't help)."""
        if rate is not None:
            self.rate = check_rate(rate)
        stop = stop_event or threading.Event()
        end = None if duration is None else time.monotonic() + duration
        backoff, failing_since = 0.5, None
        totals: defaultdict[str, int] = defaultdict(int)
        reported = time.monotonic()
        while not stop.is_set() and (end is None or time.monotonic() < end):
            # Nothing running and nothing due: look again every couple of seconds only.
            wait = tick if self.campaigns or self.heap else max(tick, IDLE_TICK)
            try:
                r = self.step()
                if failing_since is not None:
                    down = time.monotonic() - failing_since
                    log.info("database reachable again after %.0f s", down)
                backoff, failing_since = 0.5, None
                for key in ("sent", "failed", "events"):
                    totals[key] += getattr(r, key)
                for campaign_id in r.started:
                    log.info("started %s (its scheduled time came)", campaign_id)
                for campaign_id in r.completed:
                    log.info("completed %s (every recipient processed)", campaign_id)
            except (DBAPIError, DatabaseUnavailable, DatabaseFailed) as exc:
                orig = getattr(exc, "orig", None)
                if isinstance(orig, ReadOnlySqlTransaction):
                    # Retrying can't help: the session (or the server, a standby) is read-only.
                    raise ReadOnly(
                        "The simulator can't write: the database session is read-only "
                        f"({str(orig).strip().splitlines()[0]}). Nothing was changed."
                    ) from exc
                failing_since = failing_since or time.monotonic()
                first = str(orig or exc).strip().splitlines()[0]
                log.warning("database unavailable (%s); retrying in %.1f s", first, backoff)
                wait, backoff = backoff, min(backoff * 2, 30.0)
            if time.monotonic() - reported >= report_every:
                elapsed = time.monotonic() - reported
                log.info(
                    "%d running campaigns; last %.0f s: %d sent, %d failed, %d events (%.0f/s)",
                    sum(c.status == "running" for c in self.campaigns.values()),
                    elapsed,
                    totals["sent"],
                    totals["failed"],
                    totals["events"],
                    (totals["sent"] + totals["events"]) / elapsed,
                )
                totals.clear()
                reported = time.monotonic()
            stop.wait(wait)
