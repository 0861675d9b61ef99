"""One demo campaign's rows: its times, and its recipients and events as COPY text chunks.

Recipient rows are derived from the events drawn for them (core.demo.funnel), so
opened_at is the first open or click, bounced_at the bounce, and so on, exactly.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from core.demo import data as d
from core.demo.copy import NULL, SOURCE_TAIL, EventText, TimeText, escape
from core.demo.funnel import Funnel, Rereads

SEND_FAILURE_RATE = 0.008
QUEUED_BATCH = 40  # recipients a running campaign's sender holds at any moment
_HOUR = 3600.0


class CampaignTimes(NamedTuple):
    """Epoch seconds (None where the campaign hasn't got that far)."""

    created: float
    scheduled: float | None
    started: float | None
    completed: float | None
    send_duration: float  # seconds from started_at to the last send (when every one is sent)
    updated: float


def campaign_times(plan: d.CampaignPlan, now: float) -> CampaignTimes:
    created = now + plan.created_h * _HOUR
    scheduled = None if plan.scheduled_h is None else now + plan.scheduled_h * _HOUR
    if plan.started_h is None:
        return CampaignTimes(created, scheduled, None, None, 0.0, created)
    started = now + plan.started_h * _HOUR
    duration = plan.send_hours * _HOUR
    if started + plan.sent_share * duration > now - 60:
        # Sending can't have got further than now: stretch the pace to fit.
        duration = (now - 60 - started) / plan.sent_share
    stopped = started + plan.sent_share * duration  # last send so far
    completed = None
    if plan.status == "completed":
        completed = stopped + 240
    elif plan.status == "failed":
        completed = stopped + 30
    updated = completed or (stopped + 5 if plan.status == "paused" else now - 30)
    return CampaignTimes(created, scheduled, started, completed, duration, updated)


class Chunk(NamedTuple):
    recipients: str
    events: str
    n_recipients: int
    n_events: int


class CampaignRows:
    """Recipient and event rows of one campaign, in COPY text, a chunk at a time."""

    def __init__(
        self,
        plan: d.CampaignPlan,
        campaign_pk: int,
        now: float,
        rng: random.Random,
        *,
        repeat_opens: float = 0.7,
        events_target: int | None = None,
        funnel: Funnel | None = None,
    ) -> None:
        self.plan = plan
        self.pk = campaign_pk
        self.now = now
        self.rng = rng
        self.times = campaign_times(plan, now)
        self.funnel = funnel or Funnel(
            rng,
            open_rate=plan.open_rate,
            click_rate=plan.click_rate,
            name=plan.name,
            links=plan.links,
            repeat_opens=repeat_opens,
        )
        self.events_target = events_target
        self.ts = TimeText()
        self.event_text = EventText(self.ts)
        self.events_written = 0
        # Recent readers, whom the large demo gives the last few opens it needs.
        self._ring: deque[tuple[int, Rereads, float]] = deque(maxlen=200_000)

    def chunks(
        self, rids: Sequence[int], leads: Sequence[tuple[int, str]], size: int = 20_000
    ) -> Iterator[Chunk]:
        """Rows for recipients rids[i] <- leads[i] (lead id, escaped email), in id order."""
        n = len(rids)
        for lo in range(0, n, size):
            yield self.chunk(rids[lo : lo + size], leads[lo : lo + size], lo, n)
        tail = self.finish()
        if tail is not None:
            yield tail

    def chunk(
        self, rids: Sequence[int], leads: Sequence[tuple[int, str]], lo: int, n: int
    ) -> Chunk:
        """Rows for recipients lo .. lo + len(rids) - 1 of the campaign's n."""
        if self.events_target is not None:
            self._aim(lo, n, self.events_target)
        return self._chunk(rids, leads, lo, n)

    def finish(self) -> Chunk | None:
        """After the last chunk: the repeat opens still needed to reach events_target."""
        if self.events_target is None or self.events_written >= self.events_target:
            return None
        return self._top_up(self.events_target - self.events_written)

    # --- rows ---------------------------------------------------------------------------

    def _chunk(
        self, rids: Sequence[int], leads: Sequence[tuple[int, str]], lo: int, n: int
    ) -> Chunk:
        plan, times, funnel, ts = self.plan, self.times, self.funnel, self.ts
        rnd = self.rng.random
        started = 0.0 if times.started is None else times.started
        handed = 0 if times.started is None else round(n * plan.sent_share)
        queued_until = handed + (QUEUED_BATCH if plan.status == "running" else 0)
        duration = times.send_duration
        horizon = self.now
        pk_text = f"\t{self.pk}\t"
        recipients: list[str] = []
        events: list[str] = []
        event_text = self.event_text
        ring = self._ring if self.events_target is not None else None
        for j, rid in enumerate(rids):
            i = lo + j
            lead_id, email = leads[j]
            created = times.created + 1 + i * 0.002
            sent = opened = clicked = replied = bounced = error = None
            updated = created
            if i < handed:
                at = started + (i + rnd()) / n * duration
                if rnd() < SEND_FAILURE_RATE:
                    status = "failed"
                    error = d.SEND_FAILURES[int(rnd() * len(d.SEND_FAILURES))]
                    updated = at
                else:
                    sent = updated = at
                    o = funnel.outcome(at, horizon)
                    status, opened, clicked, replied, bounced, error, evs, rereads = o
                    if evs:
                        updated = evs[-1][0]  # later opens don't change the row
                        event_text.rows(rid, evs, events)
                        if rereads is not None:
                            last = event_text.rereads(rid, rereads, horizon, funnel, events)
                            if ring is not None:
                                ring.append((rid, rereads, last))
            elif plan.status == "failed":
                status, error = "failed", d.CAMPAIGN_FAILURE
                if times.completed is not None:  # it is: a failed campaign has ended
                    updated = times.completed
            elif i < queued_until:
                status, updated = "queued", horizon - 20 * rnd()
            else:
                status = "pending"
            recipients.append(
                f"{rid}{pk_text}{lead_id}\t{email}\t{status}\t"
                f"{NULL if sent is None else ts(sent)}\t"
                f"{NULL if opened is None else ts(opened)}\t"
                f"{NULL if clicked is None else ts(clicked)}\t"
                f"{NULL if replied is None else ts(replied)}\t"
                f"{NULL if bounced is None else ts(bounced)}\t"
                f"{NULL if error is None else escape(error)}\t{ts(created)}\t{ts(updated)}\n"
            )
        self.events_written += len(events)
        return Chunk("".join(recipients), "".join(events), len(rids), len(events))

    # --- hitting an exact number of events (the large demo) -----------------------------

    def _aim(self, done: int, total: int, target: int) -> None:
        """Set the funnel's repeat opens so the events so far plus those expected for the
        recipients left come to `target` (events_target)."""
        f = self.funnel
        left = total - done
        if done == 0 or left <= 0:
            # First chunk: a guess from the funnel's own rates (corrected from chunk two on).
            readers = (1 - f.bounce_rate) * (f.read_rate + 0.16)
            base = 1.0 + readers * 0.4
            f.repeat_opens = max(0.0, (target / total - base) / readers)
            return
        base = (self.events_written - f.repeats) / done
        readers = max(f.readers / done, 1e-6)
        # 3% short of the mark: the last opens are topped up exactly by finish().
        wanted = target - self.events_written - 1.03 * base * left
        f.repeat_opens = min(60.0, max(0.0, wanted / (readers * left)))

    def _top_up(self, missing: int) -> Chunk | None:
        """`missing` more opens by recent readers, each after that reader's latest open."""
        ring, funnel, ts = self._ring, self.funnel, self.ts
        events: list[str] = []
        tries = 0
        while ring and len(events) < missing and tries < 3 * missing:
            rid, rereads, last = ring[tries % len(ring)]
            tries += 1
            for t, ip in funnel.reread_times(rereads._replace(after=last, opens=1), self.now):
                data = NULL if rereads.data is None else escape(rereads.data)
                events.append(f"{rid}\topen\t{data}\t{rereads.ua}\t{ip}\t{ts(t)}{SOURCE_TAIL}")
        self.events_written += len(events)
        return Chunk("", "".join(events), 0, len(events)) if events else None
