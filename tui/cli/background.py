"""The demo's background traffic that `campaigns demo` starts, detached from the terminal
(run as `python -m tui.cli`), each process logging to <data dir>/NAME.log with its pid in
<data dir>/NAME.pid; `campaigns simulate --stop` stops every one of them.

    direct  simulator: `campaigns simulate --demo-only --rate 20`, which claims recipients
            and records their events itself (no SMTP, no HTTP)
    real    sink:  `campaigns sink` on a free 127.0.0.1 port, the SMTP server the messages
                   go to and the recipients who open and click them (core.demo.inbox)
            serve: `campaigns serve` on a free 127.0.0.1 port, the public_url setting
                   pointed at it, X-Forwarded-For believed from 127.0.0.1 only
            send:  `campaigns send` of the demo's campaigns to the sink, REAL_RATE a second
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from core import config
from core.errors import CampaignConsoleError
from tui.cli.common import say


class DemoTrafficFailed(CampaignConsoleError):
    """A process of the demo's traffic did not start (its log says why)."""


BACKGROUND_RATE = 20
REAL_RATE = 5  # messages a second from the sender to the sink
SIMULATOR, SINK, SERVE, SEND = "simulator", "sink", "serve", "send"
# What each one's command line holds (checked so that a reused pid is not taken for it).
MARKS = {SIMULATOR: b"simulate", SINK: b"sink", SERVE: b"serve", SEND: b"send"}
STARTUP_S = 60.0  # a child not listening by then is stopped, the others too


def pid_file(name: str = SIMULATOR) -> Path:
    return config.data_home() / f"{name}.pid"


def log_file(name: str = SIMULATOR) -> Path:
    return config.data_home() / f"{name}.log"


def _running_pid(name: str = SIMULATOR) -> int | None:
    """The pid of the background process `name`, if its pid file names a live one."""
    try:
        pid = int(pid_file(name).read_text().split()[0])
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
            if cmdline and MARKS[name] not in cmdline:
                return None
            # An empty command line: a child that has just been started (seen for a moment
            # after Popen returns), or a dead one not reaped yet (state Z).
            if not cmdline and (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    return pid


def _spawn(name: str, args: list[str], database_url: str | None) -> int:
    """Start `campaigns ARGS` detached, logging to log_file(name); its pid, in pid_file(name)."""
    pid_path, log_path = pid_file(name), log_file(name)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url  # not on the command line, where ps shows it
    # 0600, an existing log too: it may quote the database's errors.
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # not stopped by the terminal's Ctrl-C or hang-up
        )
    pid_path.write_text(f"{child.pid}\n")
    return child.pid


def _running_any() -> tuple[str, int] | None:
    for name in MARKS:
        pid = _running_pid(name)
        if pid is not None:
            return name, pid
    return None


def start_background(database_url: str | None) -> int | None:
    """Start `campaigns simulate` detached unless the demo's traffic runs already; its pid."""
    running = _running_any()
    if running is not None:
        name, pid = running
        say(f"The demo's {name} is already running (pid {pid}); stop it: campaigns simulate --stop")
        return pid
    command = ["simulate", "--demo-only", "--rate", str(BACKGROUND_RATE)]
    pid = _spawn(SIMULATOR, [*command, "--pid-file", str(pid_file())], database_url)
    say(
        f"Simulator started in the background (pid {pid}, {BACKGROUND_RATE} writes/s on"
        f" the demo's running campaigns); log: {log_file()}; stop it: campaigns simulate --stop"
    )
    return pid


def free_port() -> int:
    """A port free on 127.0.0.1 now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(name: str, port: int, timeout: float = STARTUP_S) -> None:
    """Wait until 127.0.0.1:port accepts; DemoTrafficFailed (naming the log) if the child
    died or did not listen in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _running_pid(name) is None:
            raise DemoTrafficFailed(
                f"The demo's {name} stopped as it started; see {log_file(name)}."
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise DemoTrafficFailed(
        f"The demo's {name} did not listen within {timeout:.0f} s; see {log_file(name)}."
    )


def start_real_traffic(
    database_url: str | None, campaigns: list[str], *, rate: float = REAL_RATE
) -> dict[str, int]:
    """Start the sink, the endpoint and the sender of the demo's `campaigns` (the real path),
    unless the demo's traffic runs already; their pids by name. Ports: free ones on 127.0.0.1."""
    running = _running_any()
    if running is not None:
        name, pid = running
        say(f"The demo's {name} is already running (pid {pid}); stop it: campaigns simulate --stop")
        return {name: pid}
    pids: dict[str, int] = {}
    try:
        smtp_port, http_port = free_port(), free_port()
        while http_port == smtp_port:
            http_port = free_port()
        pids[SINK] = _spawn(SINK, ["sink", "--port", str(smtp_port)], None)
        _wait_listening(SINK, smtp_port)
        public = f"http://127.0.0.1:{http_port}"
        serve = ["serve", "--host", "127.0.0.1", "--port", str(http_port), "--public-url", public]
        serve += ["--trusted-proxy", "127.0.0.1/32"]  # the sink's recipients say their address
        pids[SERVE] = _spawn(SERVE, serve, database_url)
        _wait_listening(SERVE, http_port)
        send = ["send", "--smtp", f"smtp://127.0.0.1:{smtp_port}", "--rate", f"{rate:g}"]
        send += ["--connections", "2", "--retry-after", "5"]
        for campaign_id in sorted(campaigns):
            send += ["--campaign", campaign_id]
        pids[SEND] = _spawn(SEND, send, database_url)
    except BaseException:
        stop_background(quiet=True)
        raise
    say(
        f"Demo traffic started in the background: SMTP sink on 127.0.0.1:{smtp_port}"
        f" (pid {pids[SINK]}), tracking endpoint on {public} (pid {pids[SERVE]}),"
        f" sender at {rate:g} messages/s (pid {pids[SEND]}); logs: {config.data_home()}/"
        "{sink,serve,send}.log; stop them: campaigns simulate --stop"
    )
    return pids


def _stop(name: str, pid: int, deadline: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if it is our own child
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    say(f"The demo's {name} (pid {pid}) did not stop in time; killing it.")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stop_background(timeout: float = 10.0, *, quiet: bool = False) -> int:
    """Stop every background process of the demo's traffic (the sender first, so that it
    finishes its messages in flight while the sink still takes them)."""
    stopped = []
    for name in (SEND, SIMULATOR, SERVE, SINK):
        pid = _running_pid(name)
        if pid is not None:
            _stop(name, pid, time.monotonic() + timeout)
            stopped.append(f"{name} (pid {pid})")
        pid_file(name).unlink(missing_ok=True)
    if not quiet:
        if stopped:
            say(f"Stopped the demo's background traffic: {', '.join(stopped)}.")
        else:
            say("No background simulator is running.")
    return 0
