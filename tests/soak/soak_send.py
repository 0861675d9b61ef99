"""`make soak`: `campaigns send` killed with SIGKILL at 20 random moments of a 5,000-recipient
campaign and started again each time (tests/delivery/process.py): every recipient sent, none
skipped, duplicates only within the crash window, each with the same Message-ID; and SIGINT
and SIGHUP stop it as cleanly as SIGTERM (make test runs that one)."""

from __future__ import annotations

import os
import signal

import pytest

from tests.delivery import test_send_command as commands
from tests.delivery.process import kill_nine_run

RECIPIENTS = int(os.environ.get("CC_SOAK_SEND_RECIPIENTS", 5000))
KILLS = int(os.environ.get("CC_SOAK_SEND_KILLS", 20))


def test_kill_nine_twenty_times(db, db_url, tmp_path):
    figures = kill_nine_run(
        db, db_url, tmp_path, recipients=RECIPIENTS, kills=KILLS, rate=250, seed=1616
    )
    print(f"\nkill -9 soak: {RECIPIENTS:,} recipients, {figures}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_the_other_signals_stop_it_cleanly(db, db_url, tmp_path, sig):
    commands.test_a_signal_stops_it_cleanly(db, db_url, tmp_path, sig)
