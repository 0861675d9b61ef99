"""One step of the simulator (core.demo.simulator): the transaction's work, and its outcome.

`Step(given, session).run()` reads and writes the database only. It is given what it needs
of the simulator as values (a StepInput: the due events, the budget, the campaigns' state
to read, the random source and the funnels) and returns an Outcome: what the simulator's
memory should become (statuses, recipients claimed or handed over, events to schedule or
hold). The Simulator applies the outcome to its own state after the commit, so a
rolled-back step changes nothing there and Database.run may run it again after a deadlock.

The values the two share live here: Due (an event waiting in the simulator's heap),
Inflight (a claimed recipient waiting to be handed over) and CampaignState.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import campaigns, recipients
from core.demo import data as d
from core.demo.funnel import Funnel
from core.errors import InvalidTransition, NotFound
from core.events import EventInput, record_events
from core.store import EventSource

SEND_DELAY = (0.2, 1.0)  # seconds a claimed recipient stays queued
SEND_FAILURE_RATE = 0.01
CLAIM_MAX = 500


class Due(NamedTuple):
    """An event waiting for its time in the simulator's heap (ordered by `at`, then `seq`,
    which is unique: two items never compare further)."""

    at: float  # epoch seconds
    seq: int
    pk: int  # campaigns.id
    rid: int  # campaign_recipients.id
    kind: str  # event_type
    data: str | None  # event_data as JSON text
    ua: str | None
    ip: str | None


class Inflight(NamedTuple):
    """A claimed (queued) recipient, handed over to be sent or failed at `at`."""

    at: float
    rid: int


class Seen(NamedTuple):
    """A campaign's id and status as the step read them (or left them)."""

    campaign_id: str
    status: str


@dataclass
class CampaignState:
    pk: int
    campaign_id: str
    status: str
    funnel: Funnel
    inflight: list[Inflight] = field(default_factory=list)
    parked: list[Due] = field(default_factory=list)  # due events held while paused
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


@dataclass(frozen=True, slots=True)
class StepInput:
    """What a step is given of the simulator. The step changes none of it: it only draws
    from `rng` and `seq` and asks `funnel` for a campaign's funnel (the simulator keeps
    those it hands out)."""

    now: datetime
    due: list[Due]  # taken off the heap: recorded, held or dropped by this step
    budget: float  # writes this step may do
    campaigns: Mapping[int, CampaignState]  # read only
    only: int | None  # campaigns.id of the one campaign simulated, if one
    demo_only: bool
    adopt: bool  # look for queued recipients nobody holds
    unstartable: frozenset[int]  # scheduled campaigns that could not start: not tried again
    rng: random.Random
    funnel: Callable[[int, str], Funnel]  # (pk, campaign_id) -> the campaign's funnel
    delay: Callable[[float], float]  # a real delay -> the simulated one
    seq: Iterator[int]  # tie-breakers for new Due items


@dataclass
class Outcome:
    """What the step did, for the simulator to apply to its state (after the commit)."""

    now: float
    result: StepResult = StepResult()
    budget_left: float = 0.0
    statuses: dict[int, Seen] = field(default_factory=dict)  # every campaign the step saw
    gone: set[int] = field(default_factory=set)  # known campaigns the step didn't find
    parked: list[Due] = field(default_factory=list)  # due while paused: held
    scheduled: list[Due] = field(default_factory=list)  # new events of messages just sent
    claimed: dict[int, list[Inflight]] = field(default_factory=lambda: defaultdict(list))
    handed: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    exhausted: dict[int, bool] = field(default_factory=dict)
    consumed: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # recorded/dropped
    unstartable: set[int] = field(default_factory=set)  # newly found


class Step:
    """One transaction's work (see the module's docstring)."""

    def __init__(self, given: StepInput, session: Session) -> None:
        self.given, self.session = given, session
        self.now = given.now
        self.t = given.now.timestamp()
        self.budget = given.budget
        self.out = Outcome(self.t)
        self.status = self.out.statuses
        self.adopted: dict[int, list[int]] = defaultdict(list)
        self.claimed = self.sent = self.failed = self.events = 0
        self.started: tuple[str, ...] = ()
        self.completed: tuple[str, ...] = ()

    def run(self) -> Outcome:
        self._statuses()
        self._start_due()
        self._record_due()
        self._hand_over()
        self._claim()
        self._complete()
        self.out.budget_left = max(0.0, self.budget)
        self.out.result = StepResult(
            self.claimed, self.sent, self.failed, self.events, self.started, self.completed
        )
        return self.out

    def _status(self, pk: int) -> str | None:
        seen = self.status.get(pk)
        return None if seen is None else seen.status

    # -- reading --

    def _filter(self) -> tuple[str, dict[str, Any]]:
        if self.given.only is not None:
            return "id = :only", {"only": self.given.only}
        if self.given.demo_only:
            # The seeder's campaigns, not any whose id a user started with `demo_`.
            return "id IN (SELECT campaign_id FROM demo_campaigns)", {}
        return "true", {}

    def _statuses(self) -> None:
        where, params = self._filter()
        known = self.given.campaigns
        rows = self.session.execute(
            text(
                f"SELECT id, campaign_id, status FROM campaigns WHERE "
                f"(status IN ('running', 'paused') AND {where}) OR id = ANY(:known)"
            ),
            params | {"known": list(known)},
        ).all()
        self.status.update({r.id: Seen(r.campaign_id, str(r.status)) for r in rows})
        self.out.gone = set(known) - set(self.status)
        if self.given.adopt:
            self._adopt()

    def _adopt(self) -> None:
        """Queued recipients of running campaigns that no step of ours holds: a sender that
        died left them (or this one lost a commit); send them."""
        running = [pk for pk, s in self.status.items() if s.status in ("running", "paused")]
        held = {i.rid for c in self.given.campaigns.values() for i in c.inflight}
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
            if pk in self.given.unstartable or pk in self.out.unstartable:
                continue
            try:
                campaigns.transition(self.session, pk, "start", now=self.now)
            except (InvalidTransition, NotFound):
                self.out.unstartable.add(pk)  # no recipients: the operator's to sort out
                continue
            started.append(campaign_id)
            self.status[pk] = Seen(campaign_id, "running")
        self.started = tuple(started)

    # -- writing --

    def _record_due(self) -> None:
        events = []
        for item in self.given.due:
            status = self._status(item.pk)
            if status == "paused":
                self.out.parked.append(item)
                continue
            self.out.consumed[item.pk] += 1
            if status == "running":
                events.append(
                    EventInput(
                        item.kind,
                        recipient_id=item.rid,
                        event_data=None if item.data is None else json.loads(item.data),
                        user_agent=item.ua,
                        ip_address=item.ip,
                        created_at=datetime.fromtimestamp(item.at, UTC),
                        source=EventSource.SIMULATOR,
                    )
                )
        if events:
            recorded = record_events(self.session, events, skip_invalid=True).recorded
            self.budget -= len(events)
            self.events = recorded

    def _hand_over(self) -> None:
        """Claimed recipients whose moment has come (and adopted ones) are sent or fail."""
        rng = self.given.rng
        ready: list[tuple[int, int]] = []
        for pk, c in self.given.campaigns.items():
            if self._status(pk) == "running":
                ready += [(pk, i.rid) for i in c.inflight if i.at <= self.t]
        for pk, rids in self.adopted.items():
            if self._status(pk) == "running":
                ready += [(pk, rid) for rid in rids]
            else:  # held until the campaign runs again
                self.out.claimed[pk] += [Inflight(self.t, rid) for rid in rids]
        sent: list[tuple[int, int]] = []
        failed: list[int] = []
        for pk, rid in ready:
            self.out.handed[pk].add(rid)
            if rng.random() < SEND_FAILURE_RATE:
                failed.append(rid)
            else:
                sent.append((pk, rid))
        if failed:
            error = d.SEND_FAILURES[int(rng.random() * len(d.SEND_FAILURES))]
            recipients.mark_failed(self.session, failed, error)
        marked = 0
        if sent:
            marked = recipients.mark_sent(self.session, [rid for _, rid in sent], at=self.now)
            for pk, rid in sent:
                self._schedule(pk, rid, self.given.funnel(pk, self.status[pk].campaign_id))
        self.sent, self.failed = marked, len(failed)

    def _schedule(self, pk: int, rid: int, funnel: Funnel) -> None:
        t, given = self.t, self.given
        outcome = funnel.outcome(t, float("inf"))
        for at, kind, data, ua, ip in funnel.all_events(outcome, float("inf")):
            due = t + given.delay(at - t)
            self.out.scheduled.append(Due(due, next(given.seq), pk, rid, kind, data, ua, ip))

    def _claim(self) -> None:
        running = [pk for pk, s in self.status.items() if s.status == "running"]
        if not running or self.budget < 1:
            return
        rng = self.given.rng
        rng.shuffle(running)
        share = max(1, int(self.budget) // len(running))
        for pk in running:
            n = min(CLAIM_MAX, share, int(self.budget))
            if n < 1:
                break
            rows = recipients.claim_batch(self.session, pk, n)
            self.out.exhausted[pk] = len(rows) < n
            self.budget -= len(rows)
            self.claimed += len(rows)
            lo, hi = SEND_DELAY
            self.out.claimed[pk].extend(
                Inflight(self.t + lo + (hi - lo) * rng.random(), r.id) for r in rows
            )

    def _complete(self) -> None:
        completed = []
        for pk, seen in list(self.status.items()):
            c = self.given.campaigns.get(pk)
            if seen.status != "running" or c is None:
                continue
            if not self.out.exhausted.get(pk, c.exhausted):
                continue
            holding = {i.rid for i in c.inflight} - self.out.handed[pk]
            left = c.outstanding - self.out.consumed[pk]
            new = self.out.claimed.get(pk) or any(i.pk == pk for i in self.out.scheduled)
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
                campaigns.transition(self.session, pk, "complete", now=self.now)
                completed.append(seen.campaign_id)
                self.status[pk] = Seen(seen.campaign_id, "completed")
        self.completed = tuple(completed)
