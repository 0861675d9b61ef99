"""A small list of the sorts a screen offers: arrows and Enter."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui.widgets.dialogs import Dialog


class SortPicker(Dialog):
    """Dismisses with the chosen sort key, or None on Escape."""

    DEFAULT_CSS = """
    SortPicker OptionList {
        height: auto;
        max-height: 16;
    }
    """

    def __init__(self, choices: Sequence[tuple[str, str]], current: str, descending: bool):
        super().__init__()
        self.choices = tuple(choices)
        self.current = current
        self.descending = descending

    def compose(self) -> ComposeResult:
        arrow = " ▼" if self.descending else " ▲"
        with Vertical(classes="box"):
            yield Label("Sort by", classes="title")
            yield OptionList(
                *(
                    Option(Text(label + (arrow if key == self.current else "")), id=key)
                    for key, label in self.choices
                ),
                id="sorts",
            )
            yield Label("↑↓ Enter: sort   Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        keys = [key for key, _ in self.choices]
        options.highlighted = keys.index(self.current) if self.current in keys else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
