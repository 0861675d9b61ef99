"""`s` on a paused campaign is Resume (campaigns.start_resumes): it resumes at once, without
the dialog that Start asks with, and the footer says so. (The walk of the campaign list opens
help on a running campaign, where `s` is Start.)"""

from __future__ import annotations

import re

from tests.tui.terminal.effects import CAMPAIGNS_HOME, no_dialog, notified, status_of
from tests.tui.terminal.walk import all_of, help_ids, is_selected, wait

ON_PAUSED = all_of(is_selected(r"^Webinar invite\s+paused"), re.compile(r"\bs Resume\b"))


def test_s_on_a_paused_campaign_resumes_it(terminal, db):
    t = terminal()
    wait(t, CAMPAIGNS_HOME)
    t.send(b"g" + b"j" * 5)
    wait(t, ON_PAUSED)
    t.send(b"s")
    wait(
        t,
        all_of(
            notified("camp_paused is now running"),
            is_selected(r"^Webinar invite\s+running"),
            status_of("camp_paused", "running"),
            no_dialog,
        ),
        db=db,
    )


def test_help_lists_resume_on_a_paused_campaign(terminal):
    t = terminal()
    wait(t, CAMPAIGNS_HOME)
    t.send(b"g" + b"j" * 5)
    wait(t, ON_PAUSED)
    assert "campaigns.start_resumes" in help_ids(t)
