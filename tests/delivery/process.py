"""`campaigns send` as a real process (the `campaigns` script of the venv), its stderr in a
file, and the kill -9 run the command tests and `make soak` share."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from core.store import Database
from core.tracking.ids import message_id
from tests.core.test_counters import assert_counters_match
from tests.delivery import messages
from tests.delivery.data import running_campaign
from tests.delivery.relay import LoopbackRelay
from tests.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
CAMPAIGNS = Path(sys.executable).with_name("campaigns")
SOURCE = "tests.delivery.messages:build"


@dataclass
class SendProcess:
    process: subprocess.Popen
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} from campaigns send: {self.stderr()}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        return stop_process(self.process, "send", self.stderr, sig, timeout)


def start_send(db_url: str, tmp: Path, *args: str, env: dict | None = None) -> SendProcess:
    log = tmp / f"send-{time.monotonic_ns()}.log"
    environment = dict(os.environ, DATABASE_URL=db_url, PYTHONPATH=str(REPO), **(env or {}))
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [str(CAMPAIGNS), "send", "--message-source", SOURCE, *args],
            cwd=REPO,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return SendProcess(process, log)


def kill_nine_run(
    db: Database, db_url: str, tmp: Path, *, recipients: int, kills: int, rate: int, seed: int
) -> dict[str, int]:
    """A campaign sent by `campaigns send` killed with SIGKILL at `kills` random moments and
    started again each time, then run to the end: every recipient sent, none skipped,
    duplicates only of messages in flight at a kill, each copy with the same Message-ID.
    Returns the figures (duplicates, kills)."""
    chance = random.Random(seed)
    relay = LoopbackRelay().start()
    emails = [f"r{i}@d{i % 7}.test" for i in range(recipients)]
    pk, ids = running_campaign(db, "camp_kill", emails)
    connections, window = 4, 20
    args = ("--smtp", relay.url, "--connections", str(connections), "--lease", "1")
    args += ("--window", str(window))
    args += ("--rate", str(rate), "--retry-after", "0.05")
    try:
        for _ in range(kills):
            sender = start_send(db_url, tmp, *args)
            sender.wait_for("started")
            time.sleep(chance.uniform(0.05, 1.5))
            sender.stop(signal.SIGKILL)
        final = start_send(db_url, tmp, *args, "--until-done")
        assert final.process.wait(300) == 0, final.stderr()
    finally:
        relay.stop()
    with db.reading() as s:
        statuses = dict(
            s.execute(
                text(
                    "SELECT status, count(*) FROM campaign_recipients WHERE campaign_id = :c"
                    " GROUP BY status"
                ),
                {"c": pk},
            ).all()
        )
    assert statuses == {"sent": recipients}, statuses
    received = relay.behaviour.received_by()
    assert sorted(received) == sorted(emails)  # none skipped
    duplicates = 0
    for address, copies in received.items():
        assert {c.message["Message-ID"] for c in copies} == {
            message_id(pk, ids[address], messages.DOMAIN)
        }
        duplicates += len(copies) - 1
    # At a kill, at most the messages in flight (one a connection) and those whose outcome
    # waited to be written (the window) can go out again.
    assert duplicates <= kills * (connections + window), (duplicates, kills)
    assert_counters_match(db_url)
    return {"duplicates": duplicates, "kills": kills, "bound": kills * (connections + window)}
