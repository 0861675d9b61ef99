"""The recipients screen's keys: every binding, with its id (`recipients.<what>`, the name
keys.toml rebinds) and its tooltip."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from core.store import RecipientStatus
from tui.screens.shared.navigation import page_bindings, status_bindings

BINDINGS: list[BindingType] = [
    Binding(
        "enter",
        "open",
        "Timeline",
        id="recipients.open",
        tooltip="Every event of this recipient",
    ),
    Binding(
        "escape",
        "back",
        "Back",
        id="recipients.back",
        tooltip="Clear the filter, else back to campaigns",
    ),
    Binding("slash", "search", "Search", id="recipients.search", tooltip="Search by email"),
    *page_bindings("recipients", "recipients", show=True, labels=("Next", "Prev")),
    Binding("H", "first_page", "First", show=False, id="recipients.first", tooltip="First page"),
    Binding(
        "u",
        "toggle_unopened",
        "Unopened",
        id="recipients.unopened",
        tooltip="Only sent and not opened",
    ),
    Binding("o", "pick_sort", "Sort", id="recipients.sort", tooltip="Pick the sort"),
    Binding("O", "flip_sort", "Flip", show=False, id="recipients.flip", tooltip="Reverse sort"),
    *status_bindings("recipients", RecipientStatus, "recipients"),
    Binding(
        "ctrl+r",
        "refresh",
        "Refresh",
        show=False,
        id="recipients.refresh",
        tooltip="Fetch stats and page again",
    ),
    Binding(
        "A",
        "analytics",
        "Analytics",
        id="recipients.analytics",
        tooltip="Rates, human opens, links, bounces, activity",
    ),
    Binding(
        "T",
        "test_message",
        "Test",
        show=False,
        id="recipients.test_message",
        tooltip="Send this campaign's message once to an address of yours",
    ),
    Binding(
        "x", "export", "Export", show=False, id="recipients.export", tooltip="Export to a file"
    ),
]
