"""What a screen or widget needs of the app, as a Protocol: screens are written against this,
never against tui.app, so nothing below the app imports it back."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Protocol, cast

from textual.dom import DOMNode

from core.store import Database


class Console(Protocol):
    """The app as screens see it (tui.app.CampaignConsoleApp is one)."""

    database: Database
    read_only: bool  # no write key does anything; write actions are hidden
    live: bool  # screens refresh by themselves from the change feed
    live_paused: bool
    tz: tzinfo | None  # None: the machine's local zone

    def now(self) -> datetime: ...

    def report_error(self, error: BaseException, *, reading: str | None = None) -> None: ...


def console_of(node: DOMNode) -> Console:
    """The app of a widget or dialog (not a DataScreen, which has `.console`), as a Console."""
    return cast(Console, node.app)
