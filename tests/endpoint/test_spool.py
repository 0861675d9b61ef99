"""The spool on a real directory, and the client address behind proxies: no server needed."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.endpoint.hits import Hit
from core.endpoint.metrics import Metrics
from core.endpoint.proxy import client_ip
from core.endpoint.spool import Spool

REPO = Path(__file__).resolve().parents[2]
T = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def hits(n: int, start: int = 1) -> list[Hit]:
    return [Hit.new("open", i, "pixel", T, "UA", "192.0.2.1") for i in range(start, start + n)]


def test_a_hit_survives_its_spool_line():
    hit = Hit.new("click", 7, "link", T, "A\x00B" + "x" * 5000, "2001:db8::1", {"link_url": "u"})
    again = Hit.from_line(hit.line())
    assert again == hit
    assert again.user_agent is not None and "\x00" not in again.user_agent
    assert len(again.user_agent) == 2048


def test_appended_hits_replay_in_order_once_and_the_file_empties(tmp_path):
    metrics = Metrics()
    spool = Spool(tmp_path, metrics)
    spool.open()
    first, second = hits(3), hits(2, 10)
    spool.append(first)
    spool.append(second)
    assert spool.active and spool.pending() and metrics.spool_depth == 5
    committed: list[Hit] = []
    assert spool.replay(committed.extend, chunk=2) == 5
    assert committed == first + second
    assert not spool.active and not spool.pending() and metrics.spool_depth == 0
    assert spool.replay(committed.extend) == 0
    spool.close()
    assert list(tmp_path.iterdir()) == []  # an empty spool leaves nothing behind


def test_a_failed_replay_keeps_what_was_not_committed(tmp_path):
    spool = Spool(tmp_path, Metrics())
    spool.open()
    spool.append(hits(4))
    calls: list[list[Hit]] = []

    def flaky(batch: list[Hit]) -> None:
        calls.append(batch)
        if len(calls) == 2:
            raise ConnectionError("database away")

    with pytest.raises(ConnectionError):
        spool.replay(flaky, chunk=2)
    rest: list[Hit] = []
    spool.replay(rest.extend, chunk=2)
    assert [h.recipient_id for h in calls[0] + rest] == [1, 2, 3, 4]


_CHILD = """
import sys, time
from pathlib import Path
from datetime import UTC, datetime
from pathlib import Path
from core.endpoint.hits import Hit
from core.endpoint.metrics import Metrics
from core.endpoint.spool import Spool
spool = Spool(Path(sys.argv[1]), Metrics())
spool.open()
spool.append([Hit.new("open", i, "pixel", datetime.now(UTC), None, None) for i in (1, 2, 3)])
with open(spool._own.path, "ab") as f:
    f.write(b'{"k":"open","r":4')  # a line cut short: never answered
print("spooled", flush=True)
time.sleep(60)
"""


def test_a_dead_workers_file_is_adopted_and_a_live_ones_is_not(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "spooled\n"
        mine = Spool(tmp_path, Metrics())
        mine.open()
        assert mine.adopt() == 0  # held by a live process
        child.kill()
        child.wait()
        assert mine.adopt() == 3
        assert mine.adopt() == 0  # adopted once
        replayed: list[Hit] = []
        assert mine.replay(replayed.extend) == 3
        assert [h.recipient_id for h in replayed] == [1, 2, 3]
        mine.close()
        assert os.listdir(tmp_path) == []
    finally:
        child.kill()
        child.wait()


PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", ["203.0.113.5"], "192.0.2.1"),  # untrusted peer: its header is ignored
        ("10.0.0.2", ["203.0.113.5"], "203.0.113.5"),
        ("10.0.0.2", ["1.1.1.1, 203.0.113.5, 10.0.0.9"], "203.0.113.5"),  # rightmost untrusted
        ("10.0.0.2", ["1.1.1.1", "203.0.113.5"], "203.0.113.5"),  # two headers, in order
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], "10.0.0.3"),  # all trusted: the farthest
        ("10.0.0.2", ["garbage, 10.0.0.4"], "10.0.0.4"),
        ("10.0.0.2", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("10.0.0.2", ["203.0.113.5:8080"], "203.0.113.5"),
        ("::1", ["::ffff:198.51.100.1"], "198.51.100.1"),
        ("::ffff:10.1.2.3", ["203.0.113.5"], "203.0.113.5"),  # a mapped peer is still trusted
        (None, ["203.0.113.5"], None),
    ],
)
def test_client_ip(peer, forwarded, expected):
    assert client_ip(peer, forwarded, PROXIES) == expected
    if peer is not None and expected is not None and not forwarded:
        assert client_ip(peer, forwarded, ()) == expected
