"""Every binding that help lists on the event log, the suppression list, analytics, find and
compare, pressed as a terminal sends it, has its effect on screen (tables: effects.py)."""

from __future__ import annotations

import pytest

from tests.tui.terminal.test_walk_main import check_walk


@pytest.mark.parametrize("name", ["event log", "suppressions", "analytics", "find", "compare"])
def test_every_help_listed_binding_has_its_effect(terminal, db, name):
    check_walk(terminal, db, name)
