"""The sender when things go wrong: the relay gone mid-campaign (retries, then the error
alarm pauses the campaign; resumed, it goes on where it stopped), a pause by a person
(nothing new starts after it), two senders on one campaign (no recipient twice), a dead
sender's leases taken over, the limit per domain."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from core import campaigns
from core.delivery import Sender, parse_relay, set_alarms
from core.recipients import claim_batch
from core.tracking.ids import message_id
from tests.core.test_counters import assert_counters_match
from tests.delivery import messages
from tests.delivery.data import FAST, recipients, running_campaign, send
from tests.delivery.relay import Behaviour, LoopbackRelay


def _wait(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Background:
    """A sender running in a thread of its own (its own event loop)."""

    def __init__(self, db, url: str, **changes) -> None:
        self.sender = Sender(db, parse_relay(url), messages.build, replace(FAST, **changes))
        self.loop = asyncio.new_event_loop()
        self.totals = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.totals = self.loop.run_until_complete(self.sender.run())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.sender.stop)
        self.join()

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the sender did not stop"


def _emails(n: int, domain: str = "a.test") -> list[str]:
    return [f"ok{i}@{domain}" for i in range(n)]


def _one_copy_each(relay: LoopbackRelay, pk: int, ids: dict[str, int]) -> None:
    """Every recipient received, any duplicate with the same Message-ID."""
    received = relay.behaviour.received_by()
    assert sorted(received) == sorted(ids)
    for address, copies in received.items():
        assert {c.message["Message-ID"] for c in copies} == {
            message_id(pk, ids[address], messages.DOMAIN)
        }


def test_the_relay_gone_is_retried_then_the_error_alarm_pauses_and_resume_goes_on(db, db_url):
    relay = LoopbackRelay(Behaviour(hold=0.01)).start()
    pk, ids = running_campaign(db, "camp_gone", _emails(120))
    with db.transaction() as s:
        set_alarms(s, pk, error_window=10, error_percent=50)
    sender = Background(db, relay.url, max_attempts=10, connections=2)
    _wait(lambda: len(relay.behaviour.received) >= 20, "20 messages")
    relay.stop()
    sender.join()  # paused by its alarm: nothing left running, so it stops
    with db.reading() as s:
        c = campaigns.get_campaign(s, pk)
        lost = s.scalar(text("SELECT count(*) FROM send_attempts WHERE code IS NULL"))
    assert c.status == "paused"
    assert c.pause_reason is not None and c.pause_reason.startswith("errors: ")
    assert lost >= 10
    statuses = {row[0] for row in recipients(db, pk).values()}
    assert statuses <= {"sent", "pending"}  # nothing failed for good, nothing left leased
    assert_counters_match(db_url)

    relay.start()  # back, on the same port; the operator resumes
    with db.transaction() as s:
        campaigns.resume(s, pk)
        assert campaigns.get_campaign(s, pk).pause_reason is None
    send(db, relay.url, max_attempts=10)
    assert {row[0] for row in recipients(db, pk).values()} == {"sent"}
    _one_copy_each(relay, pk, ids)
    assert_counters_match(db_url)
    relay.stop()


def test_a_pause_stops_new_messages_and_resume_sends_the_rest(db, db_url):
    relay = LoopbackRelay(Behaviour(hold=0.02)).start()
    pk, _ids = running_campaign(db, "camp_pause", _emails(200))
    sender = Background(db, relay.url, connections=3, until_done=False)
    _wait(lambda: len(relay.behaviour.received) >= 15, "15 messages")
    with db.transaction() as s:
        campaigns.pause(s, pk)
    paused_at = time.monotonic()

    def released() -> bool:
        with db.reading() as s:
            return not s.scalar(
                text("SELECT count(*) FROM campaign_recipients WHERE status = 'queued'")
            )

    _wait(released, "the queued recipients released")
    time.sleep(0.3)
    # The pause is honoured within a second: no message started later than that (the sender
    # reads the status every poll_s, 0.05 s here).
    assert max(relay.behaviour.started) < paused_at + 1.0
    with db.reading() as s:
        sent = s.scalar(text("SELECT emails_sent FROM campaigns WHERE id = :c"), {"c": pk})
    assert sent == len(relay.behaviour.received) < 200
    with db.transaction() as s:
        campaigns.resume(s, pk)
    _wait(lambda: len(relay.behaviour.received) >= 200, "every message")
    sender.stop()
    assert {row[0] for row in recipients(db, pk).values()} == {"sent"}
    assert all(len(c) == 1 for c in relay.behaviour.received_by().values())
    assert_counters_match(db_url)
    relay.stop()


def test_two_senders_on_one_campaign_never_send_a_recipient_twice(db, db_url):
    relay = LoopbackRelay().start()
    _pk, ids = running_campaign(db, "camp_two", _emails(400))
    first = Background(db, relay.url, batch_size=20)
    second = Background(db, relay.url, batch_size=20)
    first.join()
    second.join()
    received = relay.behaviour.received_by()
    assert sorted(received) == sorted(ids)
    assert all(len(copies) == 1 for copies in received.values())
    with db.reading() as s:
        by_sender = s.execute(
            text("SELECT sender_id, count(*) FROM send_attempts GROUP BY sender_id")
        ).all()
    assert {row[0] for row in by_sender} == {first.sender.id, second.sender.id}
    assert sum(row[1] for row in by_sender) == 400
    assert_counters_match(db_url)
    relay.stop()


def test_a_dead_senders_leases_expire_and_are_sent(db, db_url):
    relay = LoopbackRelay().start()
    pk, ids = running_campaign(db, "camp_dead", _emails(30))
    with db.transaction() as s:  # a sender that claimed ten and died
        dead = claim_batch(s, pk, 10, owner="dead:1:x", lease=timedelta(seconds=1))
    assert len(dead) == 10
    send(db, relay.url)
    assert {row[0] for row in recipients(db, pk).values()} == {"sent"}
    _one_copy_each(relay, pk, ids)
    assert all(len(c) == 1 for c in relay.behaviour.received_by().values())
    relay.stop()


@pytest.mark.parametrize("per_domain", [1, 2])
def test_messages_in_flight_per_domain_are_limited(db, per_domain):
    relay = LoopbackRelay(Behaviour(hold=0.03)).start()
    emails = _emails(24, "one.test") + _emails(6, "other.test")
    running_campaign(db, f"camp_domain{per_domain}", emails)
    send(db, relay.url, connections=6, per_domain=per_domain)
    most = relay.behaviour.most_in_data
    assert most["one.test"] == per_domain and most["other.test"] <= per_domain
    relay.stop()


def test_messages_per_second_are_limited(db):
    relay = LoopbackRelay().start()
    running_campaign(db, "camp_rate", _emails(11))
    started = time.monotonic()
    send(db, relay.url, per_second=5.0)
    # A bucket of 5 a second holds 5: the other 6 wait 1.2 s at least. A lower bound only, so
    # a slow machine never fails it.
    assert time.monotonic() - started >= (11 - 5) / 5.0
    assert len(relay.behaviour.received) == 11
    relay.stop()


def test_the_hourly_window_holds_n_sends_in_any_window():
    from core.delivery.throttle import SlidingWindow

    async def run() -> list[float]:
        window = SlidingWindow(3, window_s=0.3)
        times = []
        for _ in range(7):
            await window.acquire()
            times.append(time.monotonic())
        return times

    times = asyncio.run(run())
    for i in range(3, 7):  # the 4th waits for the 1st to be a window old, and so on
        assert times[i] - times[i - 3] >= 0.3
