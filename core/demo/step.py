"""One step of the simulator (core.demo.simulator): the transaction's work, and its outcome.

_Step reads and writes the database only; the simulator's memory is changed afterwards from
the returned _Outcome, so a rolled-back step changes nothing and Database.run may run it
again after a deadlock.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import campaigns, recipients
from core.demo import data as d
from core.demo.funnel import Funnel
from core.errors import InvalidTransition, NotFound
from core.events import EventInput, record_events

if TYPE_CHECKING:
    from core.demo.simulator import Simulator

SEND_DELAY = (0.2, 1.0)  # seconds a claimed recipient stays queued
SEND_FAILURE_RATE = 0.01
CLAIM_MAX = 500


@dataclass
class CampaignState:
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


class Outcome:
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
                c = CampaignState(pk, campaign_id, status, sim.funnel(pk, campaign_id))
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


class Step:
    """One transaction's work (see the module's docstring)."""

    def __init__(self, sim: Simulator, session: Session, now: datetime, due: list, budget: float):
        self.sim, self.session, self.now, self.due = sim, session, now, due
        self.t = now.timestamp()
        self.budget = budget
        self.out = Outcome()
        self.out.now = self.t
        self.adopted: dict[int, list[int]] = defaultdict(list)

    def run(self) -> Outcome:
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
            # The seeder's campaigns, not any whose id a user started with `demo_`.
            return "id IN (SELECT campaign_id FROM demo_campaigns)", {}
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
                campaigns.transition(self.session, pk, "start", now=self.now)
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
                campaigns.transition(self.session, pk, "complete", now=self.now)
                completed.append(campaign_id)
                self.status[pk] = (campaign_id, "completed")
        self._result(completed=tuple(completed))

    def _result(self, **changes) -> None:
        r = self.out.result
        self.out.result = dataclasses.replace(
            r, **{key: getattr(r, key) + value for key, value in changes.items()}
        )
