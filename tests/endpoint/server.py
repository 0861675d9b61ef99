"""`campaigns serve` as a real process on a free loopback port, and the data it serves: a
running campaign with sent recipients, its links, and tokens signed with the database's key."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

from core import tracking
from core.endpoint.pages import PIXEL
from core.store import Database
from tests.factories import make_campaign, make_recipients
from tests.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
LINKS = ("https://example.com/spring?utm=1", "https://shop.example.org/a/b")


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    spool_dir: Path
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        return stop_process(self.process, "the server", self.stderr, sig, timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(
    db_url: str,
    spool_dir: Path,
    *args: str,
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 60,
) -> Server:
    """Starts `campaigns serve` (on a free port unless `port`) and waits until /healthz says
    the database is there. The URL goes in the environment, as it should (never in argv)."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    log = spool_dir.parent / f"serve-{time.monotonic_ns()}.log"
    env = dict(os.environ, DATABASE_URL=db_url)
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tui.cli", "serve", "--host", host, "--port", str(port)),
                *("--spool-dir", str(spool_dir), *args),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    server = Server(process, "", spool_dir, log)
    if not line.startswith("Listening on "):
        server.kill()
        raise AssertionError(f"serve did not start: {line!r} {server.stderr()}")
    server.url = line.split()[-1]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"serve never became healthy: {server.stderr()}")
        time.sleep(0.05)


@dataclass
class World:
    """A running campaign of sent recipients and two links, and the keyring that signs."""

    campaign_pk: int
    campaign_id: str
    recipients: list[int]
    positions: list[int]
    ring: tracking.KeyRing = field(repr=False)

    def open_path(self, rid: int) -> str:
        return f"{tracking.TRACK_PREFIX}/{self.token(rid)}/open"

    def click_path(self, rid: int, position: int) -> str:
        token = tracking.sign(self.ring, self.campaign_pk, rid, position)
        return f"{tracking.TRACK_PREFIX}/{token}/click/{position}"

    def unsubscribe_path(self, rid: int) -> str:
        return f"{tracking.TRACK_PREFIX}/{self.token(rid)}/unsubscribe"

    def token(self, rid: int) -> str:
        return tracking.sign(self.ring, self.campaign_pk, rid)


def make_world(db: Database, recipients: int = 5, campaign_id: str = "camp_ep") -> World:
    with db.transaction() as session:
        sent = session.scalar(text("SELECT now() - interval '1 day'"))
        campaign = make_campaign(session, campaign_id, status="running", started_at=sent)
        rids = make_recipients(session, campaign, recipients, status="sent", sent_at=sent)
        positions = tracking.save_links(session, campaign.id, LINKS)
        pk = campaign.id
    ring = db.run(tracking.load_keyring)
    return World(pk, campaign_id, rids, positions, ring)


class Load:
    """`clients` keep-alive HTTP clients sending opens as fast as they are answered, each
    with a User-Agent of its own (load-<client>-<n>), so that every answered hit can be found
    in the database. Connection errors (a killed server) are waited out and tried again."""

    def __init__(self, base_url: str, paths: list[str], clients: int = 16) -> None:
        self.base_url = base_url
        self.paths = paths
        self.clients = clients
        self.answered: list[str] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def wait_for(self, answered: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answered) < answered:
            assert time.monotonic() < deadline, f"only {len(self.answered)} answers"
            time.sleep(0.02)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(30)
        return self.answered

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.clients)))

    async def _client(self, i: int) -> None:
        n = 0
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            while not self._stop.is_set():
                n += 1
                agent = f"load-{i}-{n}"
                path = self.paths[(i + n) % len(self.paths)]
                try:
                    r = await client.get(path, headers={"User-Agent": agent})
                except httpx.HTTPError:
                    self.errors += 1
                    await asyncio.sleep(0.05)
                    continue
                if r.status_code == 200 and r.content == PIXEL:
                    self.answered.append(agent)
                else:
                    self.errors += 1
