"""The background simulator that `campaigns demo` starts: `campaigns simulate --demo-only
--rate 20` (run as `python -m tui.cli`), detached from the terminal, logging to
<data dir>/simulator.log, its pid in <data dir>/simulator.pid; `campaigns simulate --stop`
stops it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core import config
from tui.cli.common import say

BACKGROUND_RATE = 20


def pid_file() -> Path:
    return config.data_home() / "simulator.pid"


def log_file() -> Path:
    return config.data_home() / "simulator.log"


def _running_pid() -> int | None:
    """The background simulator's pid, if the pid file names a live simulator."""
    try:
        pid = int(pid_file().read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    proc = Path(f"/proc/{pid}")
    if proc.exists():  # Linux: make sure the pid wasn't reused by another program
        with contextlib.suppress(OSError, IndexError):
            cmdline = (proc / "cmdline").read_bytes()
            if cmdline and b"simulate" not in cmdline:
                return None
            # An empty command line: a child that has just been started (seen for a moment
            # after Popen returns), or a dead one not reaped yet (state Z).
            if not cmdline and (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    return pid


def start_background(database_url: str | None) -> int | None:
    """Start `campaigns simulate` detached unless one runs already; returns its pid."""
    pid = _running_pid()
    if pid is not None:
        say(f"The simulator is already running (pid {pid}); stop it: campaigns simulate --stop")
        return pid
    pid_path, log_path = pid_file(), log_file()
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tui.cli", "simulate", "--demo-only"]
    command += ["--rate", str(BACKGROUND_RATE), "--pid-file", str(pid_path)]
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url  # not on the command line, where ps shows it
    # 0600, an existing log too: it may quote the database's errors.
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # not stopped by the terminal's Ctrl-C or hang-up
        )
    pid_path.write_text(f"{child.pid}\n")
    say(
        f"Simulator started in the background (pid {child.pid}, {BACKGROUND_RATE} writes/s on"
        f" the demo's running campaigns); log: {log_path}; stop it: campaigns simulate --stop"
    )
    return child.pid


def stop_background(timeout: float = 10.0) -> int:
    pid = _running_pid()
    if pid is None:
        say("No background simulator is running.")
        pid_file().unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if it is our own child
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        say(f"The simulator (pid {pid}) did not stop within {timeout:.0f} s; killing it.")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pid_file().unlink(missing_ok=True)
    say(f"Stopped the background simulator (pid {pid}).")
    return 0
