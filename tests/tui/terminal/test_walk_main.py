"""Every binding that help lists on the campaign list, a campaign's recipients and a timeline,
pressed as a terminal sends it, has its effect on screen (tables: effects.py)."""

from __future__ import annotations

import pytest

from tests.tui.terminal.effects import WALKS
from tests.tui.terminal.walk import help_ids, open_screen, wait, walk


def check_walk(terminal, db, name: str) -> None:
    screen = WALKS[name]
    t = terminal()
    open_screen(t, screen)
    listed = help_ids(t)
    assert "app.help" in listed, listed
    wait(t, screen.home)
    problems = walk(t, screen, db, only=listed)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["campaigns", "recipients", "timeline"])
def test_every_help_listed_binding_has_its_effect(terminal, db, name):
    check_walk(terminal, db, name)
