"""Every key of the screen underneath, with what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label


class HelpScreen(ModalScreen):
    DEFAULT_CLASSES = "dialog"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close", id="help.close", tooltip="Close help"),
        Binding(
            "question_mark",
            "app.pop_screen",
            "Close",
            show=False,
            id="help.close2",
            tooltip="Close help",
        ),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for _key, active in screen.active_bindings.items():
            b = active.binding
            if not b.description or (b.action, b.description) in seen:
                continue
            seen.add((b.action, b.description))
            display = screen.app.get_key_display(b)
            self.rows.append((display, b.description, b.tooltip or ""))
        self.screen_name = type(screen).__name__.removesuffix("Screen").lower()

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(f"Keys on the {self.screen_name} screen", classes="title")
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
            yield Label(
                "ctrl+p: command palette (every action, jump to a campaign)   "
                "ctrl+q: quit   Escape: close",
                classes="hint",
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "What it does")
        for key, description, tooltip in self.rows:
            table.add_row(Text(key, style="bold"), description, tooltip)
        table.focus()
