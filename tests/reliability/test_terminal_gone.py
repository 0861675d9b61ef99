"""A terminal that goes away without a SIGHUP ends the app (issue 13, item 3).

When the pty is not the app's controlling terminal (started by a program that does not make
it so, or a session whose hang-up signal never reaches the app), closing its other end sends
no signal: the terminal just reads as end-of-file. Textual's input thread then spins on it at
a full core, for ever (seen: orphaned apps at 20-40 % CPU each). The app watches for the
hang-up itself and quits.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CAMPAIGNS = Path(sys.executable).parent / "campaigns"


def test_the_app_quits_when_its_terminal_goes_away_without_a_signal(db_url, tmp_path):
    master, slave = pty.openpty()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "DATABASE_URL": db_url,
        "COLUMNS": "80",
        "LINES": "24",
    }
    # A new session and no TIOCSCTTY: the pty is the app's terminal but not its controlling
    # one, so closing the master sends it no SIGHUP.
    app = subprocess.Popen(
        [str(CAMPAIGNS)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = b""
        end = time.monotonic() + 60
        while b"Campaign Console" not in seen:
            assert time.monotonic() < end, seen[-300:]
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
        os.close(master)  # the terminal goes away
        try:
            code = app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the app kept running with its terminal gone")
        assert code == 128 + 1, code  # quit as a SIGHUP does
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
