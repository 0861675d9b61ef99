"""Keys that arrive in bursts (typed fast, or over SSH) never stack screens (issue 11, defect 5),
and `~` goes home from anywhere."""

from __future__ import annotations

import time

import pytest

from tests.tui.terminal.effects import CAMPAIGNS_HOME


@pytest.mark.parametrize("gap", [0.0, 0.03, 0.12], ids=["one write", "30 ms", "120 ms"])
def test_enter_escape_pairs_leave_at_most_one_screen_to_close(terminal, gap):
    t = terminal()
    t.wait_for(CAMPAIGNS_HOME)
    t.send(b"jjj")  # Spring launch: its recipients, Enter on one opens a timeline
    for _ in range(15):
        if gap:
            t.send(b"\r")
            time.sleep(gap)
            t.send(b"\x1b")
            time.sleep(gap)
        else:
            t.send(b"\r\x1b" * 15)
            break
    t.wait_quiet(1.0)
    if not CAMPAIGNS_HOME.search(t.screen_text()):
        t.send(b"\x1b")
        t.wait_for(CAMPAIGNS_HOME, timeout=5)
    # Home really is the bottom: another Escape leaves the campaign list as it is.
    t.send(b"\x1b")
    assert CAMPAIGNS_HOME.search(t.wait_quiet(0.5))


def test_tilde_goes_home_from_a_timeline(terminal):
    t = terminal()
    t.send(b"jjj\r")
    t.wait_for("rows 1-21 of 21")
    t.send(b"\r")
    t.wait_for("4 events")
    t.send(b"?")
    t.wait_for("Keys on the")
    t.send(b"\x1b")
    t.wait_for("4 events")
    t.send(b"~")
    t.wait_for(CAMPAIGNS_HOME)
