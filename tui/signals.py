"""SIGTERM and SIGHUP (a dropped SSH session) end the program as quitting does.

Python's default for both is to die on the spot, skipping `finally` blocks and atexit, so the
embedded server was never stopped and the terminal was left in the app's mode. Now a command
unwinds (SystemExit) and a running app quits through Textual, which restores the terminal;
atexit then stops the embedded server if this process was its last user. Only SIGKILL skips
that.
"""

from __future__ import annotations

import signal
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
