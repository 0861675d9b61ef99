"""SIGTERM and SIGHUP (a dropped SSH session) end the program as quitting does.

Python's default for both is to die on the spot, skipping `finally` blocks and atexit, so the
embedded server was never stopped and the terminal was left in the app's mode. Now a command
unwinds (SystemExit) and a running app quits through Textual, which restores the terminal;
atexit then stops the embedded server if this process was its last user. Only SIGKILL skips
that.
"""

from __future__ import annotations

import select
import signal
import sys
import threading
from types import FrameType

from textual.app import App

ENDING = (signal.SIGTERM, signal.SIGHUP)
_running: list[App] = []  # the app this process runs, while it runs


def _end(signum: int, frame: FrameType | None) -> None:
    loop = _running[0]._loop if _running else None
    if loop is None or loop.is_closed():
        raise SystemExit(128 + signum)
    app = _running[0]
    loop.call_soon_threadsafe(lambda: app.exit(return_code=128 + signum))


def exit_on_signals() -> None:
    """SIGTERM and SIGHUP quit the running app (see run_app), else raise SystemExit."""
    if threading.current_thread() is not threading.main_thread():
        return  # main() called from a thread (a test): signals are the main thread's
    for sig in ENDING:
        signal.signal(sig, _end)


def run_app(app: App) -> int:
    """app.run(), quit by SIGTERM or SIGHUP as by ctrl+q; its return code."""
    _running.append(app)
    try:
        app.run()
    finally:
        _running.remove(app)
    return app.return_code or 0


def terminal_hung_up(fd: int) -> bool:
    """Is the terminal on fd gone (its other end closed)? A pty whose master closed reads
    as end-of-file for ever without a SIGHUP when it is not the process's controlling
    terminal, and Textual's input thread then spins on it; poll() tells by POLLHUP."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return any(events & (select.POLLHUP | select.POLLNVAL) for _, events in poller.poll(0))
    except (OSError, ValueError):
        return True


def quit_when_terminal_hangs_up(app: App, fd: int | None = None, every: float = 1.0) -> None:
    """Check the app's terminal every second; quit as a SIGHUP would once it is gone.

    In a browser tab (`campaigns web`) the terminal is a pipe from the web server: a server
    that died (killed, SIGKILL even) closes it, and the app quits rather than keep its
    database connections for ever (Textual's web driver only stops reading)."""
    if fd is None:
        stdin = sys.__stdin__
        if stdin is None or not (stdin.isatty() or app.is_web):
            return  # headless (tests, a pipe): nothing to watch
        fd = stdin.fileno()

    def check() -> None:
        if terminal_hung_up(fd):
            app.exit(return_code=128 + signal.SIGHUP)

    app.set_interval(every, check, name="terminal hang-up watch")
