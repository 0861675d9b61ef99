"""WRITE_ACTIONS name actions check_action really receives: the action's name, without its
parameters (`lifecycle`, not `lifecycle('start')`), each the action of a key on that screen. A
dead entry would hide nothing in a read-only session and say so to nobody."""

from __future__ import annotations

from textual.binding import Binding

from tui.screens.campaigns import CampaignsScreen
from tui.screens.shared.base import DataScreen
from tui.screens.suppressions import SuppressionsScreen

SCREENS: tuple[type[DataScreen], ...] = (CampaignsScreen, SuppressionsScreen)


def test_every_write_action_is_a_key_of_its_screen():
    for screen in SCREENS:
        actions = {
            b.action.partition("(")[0] for b in screen.BINDINGS if isinstance(b, Binding)
        }
        assert screen.WRITE_ACTIONS, screen
        assert actions >= screen.WRITE_ACTIONS, (screen, screen.WRITE_ACTIONS - actions)
        assert not any("(" in a for a in screen.WRITE_ACTIONS), screen


def test_every_screen_that_writes_is_listed():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import tui.app  # noqa: F401  (imports every screen)

    writers = {s for s in subclasses(DataScreen) if s.WRITE_ACTIONS}
    assert writers == set(SCREENS)
