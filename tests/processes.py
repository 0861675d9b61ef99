"""Stopping a program a test started as a process of its own."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable


def stop_process(
    process: subprocess.Popen, what: str, stderr: Callable[[], str], sig: int, timeout: float
) -> int:
    """Send `sig` and wait for the exit code; killed, and an AssertionError naming `what` with
    its stderr, when it does not stop within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"{what} did not stop on {signal.Signals(sig).name}: {stderr()}"
        ) from None
