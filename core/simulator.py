"""A traffic simulator: the sender and the recipients of running campaigns, in compressed time.

Each step (a few times a second) is one transaction through the core API: start scheduled
campaigns whose time has come, claim pending recipients (claim_batch: pending -> queued),
hand the claimed ones over a moment later (mark_sent / mark_failed), and record the events
whose time has come (record_events: opens, clicks, replies, bounces, unsubscribes, ...).
What each recipient does is drawn by core.demo_funnel when its message is sent, with the
delays of real mail compressed (an hour becomes seconds) and kept in an in-memory heap.

About `rate` writes per second in all (sends and events): due events go first, sends get
what is left. A paused campaign gets nothing (its due events wait) until it runs again; a
campaign is completed when no recipient is pending or queued and none of its events are
left to record. `step(now)` takes the time from the caller, so tests need no sleeping.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import logging
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import demo_data as d
from core import lifecycle, recipients
from core.campaign_summary import resolve_campaign
from core.db import Database
from core.demo_funnel import Funnel
from core.errors import (
    DatabaseFailed,
    DatabaseUnavailable,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from core.tracking import EventInput, record_events

log = logging.getLogger(__name__)

TIME_SCALE = 1 / 240  # a 4-hour delay becomes a minute
MAX_DELAY = 15 * 60.0  # no event waits longer than this (seconds of simulated time)
HUMAN_FLOOR = 3.0  # delays a person needs stay this long, or core.machine calls them too-fast
SEND_DELAY = (0.2, 1.0)  # seconds a claimed recipient stays queued
SEND_FAILURE_RATE = 0.01
BURST_SECONDS = 2.0  # unused budget carried over at most
CLAIM_MAX = 500
IDLE_TICK = 2.0


@dataclass
class _Campaign:
    pk: int
    campaign_id: str
    status: str
    funnel: Funnel
    inflight: list[tuple[float, int]] = field(default_factory=list)  # (send at, recipient)
    parked: list[tuple] = field(default_factory=list)  # due events held while paused
    outstanding: int = 0  # events in the heap or parked
    exhausted: bool = False  # the last claim found fewer pending recipients than asked


@dataclass(frozen=True, slots=True)
class StepResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    events: int = 0
    started: tuple[str, ...] = ()
    completed: tuple[str, ...] = ()


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
    ):
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise InvalidInput(f"The rate is a number of writes per second above 0, not {rate!r}.")
        self.db = db
        self.rate = float(rate)
        self.demo_only = demo_only
        self.time_scale = time_scale
        self.rng = random.Random(seed)
        self.campaigns: dict[int, _Campaign] = {}
        self.heap: list[tuple] = []  # (due, seq, campaign pk, recipient, type, data, ua, ip)
        self.seq = itertools.count()
        self.tokens = 0.0
        self.last: float | None = None
        self.unstartable: set[int] = set()
        self.adopt = True  # look for queued recipients nobody sends (first step, after errors)
        self.only: int | None = None
        self.funnels: dict[int, Funnel] = {}
        if campaign is not None:
            with db.reading() as session:
                self.only = resolve_campaign(session, campaign).id

    # --- one step ----------------------------------------------------------------------

    def step(self, now: datetime | None = None) -> StepResult:
        """Do what is due at `now` (default: the clock) in one transaction."""
        now = now or datetime.now(UTC)
        t = now.timestamp()
        if self.last is None:
            budget = self.rate / 5
        else:
            budget = self.tokens + self.rate * max(0.0, t - self.last)
            budget = min(budget, self.rate * BURST_SECONDS)
        due = self._pop_due(t, int(budget))
        try:
            outcome = self.db.run(lambda session: _Step(self, session, now, due, budget).run())
        except BaseException:
            for item in due:
                heapq.heappush(self.heap, item)
            self.adopt = True  # a commit may have been lost: find queued ones again
            raise
        self.last = t
        self.tokens = outcome.budget_left
        self.adopt = False
        outcome.apply(self)
        return outcome.result

    def _pop_due(self, t: float, limit: int) -> list[tuple]:
        due = []
        while self.heap and self.heap[0][0] <= t and len(due) < limit:
            due.append(heapq.heappop(self.heap))
        return due

    def funnel(self, pk: int, campaign_id: str) -> Funnel:
        """The campaign's funnel: a demo campaign's own rates and links, or drawn ones."""
        if pk not in self.funnels:
            self.funnels[pk] = self._new_funnel(campaign_id)
        return self.funnels[pk]

    def _new_funnel(self, campaign_id: str) -> Funnel:
        plan = next((p for p in d.SMALL_CAMPAIGNS if d.DEMO_PREFIX + p.slug == campaign_id), None)
        rng = self.rng
        if plan is not None and plan.links:
            rates, name, links = (plan.open_rate, plan.click_rate), plan.name, plan.links
        else:
            rates = (rng.uniform(0.25, 0.45), rng.uniform(0.03, 0.08))
            name = campaign_id
            links = ("https://www.example.com/?utm_source=newsletter&utm_medium=email",)
        return Funnel(rng, open_rate=rates[0], click_rate=rates[1], name=name, links=links)

    def delay(self, real: float) -> float:
        """A real-world delay in compressed time; those a person needs stay human."""
        scaled = min(MAX_DELAY, real * self.time_scale)
        return max(scaled, min(real, HUMAN_FLOOR + 2 * self.rng.random()))

    # --- running -------------------------------------------------------------------------

    def run(
        self,
        duration: float | None = None,
        stop: threading.Event | None = None,
        *,
        tick: float = 0.15,
        report_every: float = 10.0,
    ) -> None:
        """Step every `tick` seconds until `stop` is set or `duration` has passed. Database
        errors (a restart, say) are logged and retried with backoff, never raised."""
        stop = stop or threading.Event()
        end = None if duration is None else time.monotonic() + duration
        backoff, failing_since = 0.5, None
        totals = defaultdict(int)
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
                failing_since = failing_since or time.monotonic()
                first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
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


class _Outcome:
    def __init__(self) -> None:
        self.result = StepResult()
        self.budget_left = 0.0
        self.statuses: dict[int, tuple[str, str]] = {}
        self.parked: list[tuple] = []
        self.scheduled: list[tuple] = []
        self.claimed: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.handed: dict[int, set[int]] = defaultdict(set)
        self.exhausted: dict[int, bool] = {}
        self.consumed: dict[int, int] = defaultdict(int)  # due events recorded or dropped
        self.gone: set[int] = set()
        self.now = 0.0

    def apply(self, sim: Simulator) -> None:
        for pk, (campaign_id, status) in self.statuses.items():
            c = sim.campaigns.get(pk)
            if c is None:
                c = _Campaign(pk, campaign_id, status, sim.funnel(pk, campaign_id))
                sim.campaigns[pk] = c
            c.status = status
        for pk in self.gone:
            sim.campaigns.pop(pk, None)
            sim.funnels.pop(pk, None)
        for pk, done in self.handed.items():  # sent or failed: no longer held
            c = sim.campaigns.get(pk)
            if c is not None:
                c.inflight = [(at, rid) for at, rid in c.inflight if rid not in done]
        for pk, items in self.claimed.items():
            if pk in sim.campaigns:
                sim.campaigns[pk].inflight.extend(items)
        for pk, exhausted in self.exhausted.items():
            if pk in sim.campaigns:
                sim.campaigns[pk].exhausted = exhausted
        for pk, n in self.consumed.items():
            if pk in sim.campaigns:
                sim.campaigns[pk].outstanding -= n
        for item in self.parked:
            c = sim.campaigns.get(item[2])
            if c is not None:
                c.parked.append(item)
        for item in self.scheduled:
            c = sim.campaigns.get(item[2])
            if c is not None:
                c.outstanding += 1
                heapq.heappush(sim.heap, item)
        for c in sim.campaigns.values():
            if c.status == "running" and c.parked:
                # Resumed: the held events come due again, a little apart.
                for item in c.parked:
                    at = self.now + sim.rng.random() * 2
                    heapq.heappush(sim.heap, (at, *item[1:]))
                c.parked = []
        for pk in [pk for pk, c in sim.campaigns.items() if c.status not in ("running", "paused")]:
            sim.campaigns.pop(pk)
            sim.funnels.pop(pk, None)


class _Step:
    """One transaction's work. Reads and writes the database only; the simulator's memory
    is changed afterwards from the returned _Outcome (so a rolled-back step changes nothing,
    and db.run may run this again after a deadlock)."""

    def __init__(self, sim: Simulator, session: Session, now: datetime, due: list, budget: float):
        self.sim, self.session, self.now, self.due = sim, session, now, due
        self.t = now.timestamp()
        self.budget = budget
        self.out = _Outcome()
        self.out.now = self.t
        self.adopted: dict[int, list[int]] = defaultdict(list)

    def run(self) -> _Outcome:
        self._statuses()
        self._start_due()
        self._record_due()
        self._hand_over()
        self._claim()
        self._complete()
        self.out.budget_left = max(0.0, self.budget)
        return self.out

    # -- reading --

    def _filter(self) -> tuple[str, dict]:
        if self.sim.only is not None:
            return "id = :only", {"only": self.sim.only}
        if self.sim.demo_only:
            return "starts_with(campaign_id, :prefix)", {"prefix": d.DEMO_PREFIX}
        return "true", {}

    def _statuses(self) -> None:
        where, params = self._filter()
        rows = self.session.execute(
            text(
                f"SELECT id, campaign_id, status FROM campaigns WHERE "
                f"(status IN ('running', 'paused') AND {where}) OR id = ANY(:known)"
            ),
            params | {"known": list(self.sim.campaigns)},
        ).all()
        self.status = {r.id: (r.campaign_id, str(r.status)) for r in rows}
        self.out.gone = set(self.sim.campaigns) - set(self.status)
        self.out.statuses = self.status
        if self.sim.adopt:
            self._adopt()

    def _adopt(self) -> None:
        """Queued recipients of running campaigns that no step of ours holds: a sender that
        died left them (or this one lost a commit); send them."""
        running = [pk for pk, (_, s) in self.status.items() if s in ("running", "paused")]
        held = {rid for c in self.sim.campaigns.values() for _, rid in c.inflight}
        rows = self.session.execute(
            text(
                "SELECT campaign_id, id FROM campaign_recipients"
                " WHERE campaign_id = ANY(:pks) AND status = 'queued' ORDER BY id"
            ),
            {"pks": running},
        ).all()
        for pk, rid in rows:
            if rid not in held:
                self.adopted[pk].append(rid)

    def _start_due(self) -> None:
        where, params = self._filter()
        rows = self.session.execute(
            text(
                f"SELECT id, campaign_id FROM campaigns WHERE status = 'scheduled'"
                f" AND scheduled_at <= :now AND {where} ORDER BY scheduled_at, id"
            ),
            params | {"now": self.now},
        ).all()
        started = []
        for pk, campaign_id in rows:
            if pk in self.sim.unstartable:
                continue
            try:
                lifecycle.transition(self.session, pk, "start", now=self.now)
            except (InvalidTransition, NotFound):
                self.sim.unstartable.add(pk)  # no recipients: the operator's to sort out
                continue
            started.append(campaign_id)
            self.status[pk] = (campaign_id, "running")
        self._result(started=tuple(started))

    # -- writing --

    def _record_due(self) -> None:
        events = []
        for item in self.due:
            _, _, pk, rid, kind, data, ua, ip = item
            status = self.status.get(pk, (None, None))[1]
            if status == "paused":
                self.out.parked.append(item)
                continue
            self.out.consumed[pk] += 1
            if status == "running":
                events.append(
                    EventInput(
                        kind,
                        recipient_id=rid,
                        event_data=None if data is None else json.loads(data),
                        user_agent=ua,
                        ip_address=ip,
                        created_at=datetime.fromtimestamp(item[0], UTC),
                    )
                )
        if events:
            recorded = record_events(self.session, events, skip_invalid=True).recorded
            self.budget -= len(events)
            self._result(events=recorded)

    def _hand_over(self) -> None:
        """Claimed recipients whose moment has come (and adopted ones) are sent or fail."""
        sim, rng = self.sim, self.sim.rng
        ready: list[tuple[int, int]] = []
        for pk, c in sim.campaigns.items():
            if self.status.get(pk, (None, None))[1] == "running":
                ready += [(pk, rid) for at, rid in c.inflight if at <= self.t]
        for pk, rids in self.adopted.items():
            if self.status[pk][1] == "running":
                ready += [(pk, rid) for rid in rids]
            else:  # held until the campaign runs again
                self.out.claimed[pk] += [(self.t, rid) for rid in rids]
        sent: list[tuple[int, int]] = []
        failed: list[int] = []
        for pk, rid in ready:
            self.out.handed[pk].add(rid)
            (failed.append(rid) if rng.random() < SEND_FAILURE_RATE else sent.append((pk, rid)))
        if failed:
            error = d.SEND_FAILURES[int(rng.random() * len(d.SEND_FAILURES))]
            recipients.mark_failed(self.session, failed, error)
        marked = 0
        if sent:
            marked = recipients.mark_sent(self.session, [rid for _, rid in sent], at=self.now)
            for pk, rid in sent:
                self._schedule(pk, rid, sim.funnel(pk, self.status[pk][0]))
        self._result(sent=marked, failed=len(failed))

    def _schedule(self, pk: int, rid: int, funnel: Funnel) -> None:
        t, sim = self.t, self.sim
        outcome = funnel.outcome(t, float("inf"))
        for at, kind, data, ua, ip in funnel.all_events(outcome, float("inf")):
            due = t + sim.delay(at - t)
            self.out.scheduled.append((due, next(sim.seq), pk, rid, kind, data, ua, ip))

    def _claim(self) -> None:
        running = [pk for pk, (_, s) in self.status.items() if s == "running"]
        if not running or self.budget < 1:
            return
        self.sim.rng.shuffle(running)
        share = max(1, int(self.budget) // len(running))
        claimed = 0
        for pk in running:
            n = min(CLAIM_MAX, share, int(self.budget))
            if n < 1:
                break
            rows = recipients.claim_batch(self.session, pk, n)
            self.out.exhausted[pk] = len(rows) < n
            self.budget -= len(rows)
            claimed += len(rows)
            lo, hi = SEND_DELAY
            self.out.claimed[pk].extend(
                (self.t + lo + (hi - lo) * self.sim.rng.random(), r.id) for r in rows
            )
        self._result(claimed=claimed)

    def _complete(self) -> None:
        completed = []
        for pk, (campaign_id, status) in list(self.status.items()):
            c = self.sim.campaigns.get(pk)
            if status != "running" or c is None or not self.out.exhausted.get(pk, c.exhausted):
                continue
            holding = {rid for _, rid in c.inflight} - self.out.handed[pk]
            left = c.outstanding - self.out.consumed[pk]
            new = self.out.claimed.get(pk) or any(i[2] == pk for i in self.out.scheduled)
            if holding or left > 0 or new:
                continue
            pending = self.session.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = :pk"
                    " AND status IN ('pending', 'queued'))"
                ),
                {"pk": pk},
            )
            if not pending:
                lifecycle.transition(self.session, pk, "complete", now=self.now)
                completed.append(campaign_id)
                self.status[pk] = (campaign_id, "completed")
        self._result(completed=tuple(completed))

    def _result(self, **changes) -> None:
        r = self.out.result
        self.out.result = dataclasses.replace(
            r, **{key: getattr(r, key) + value for key, value in changes.items()}
        )
