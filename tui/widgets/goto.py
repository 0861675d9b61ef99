"""The `:` prompt: go to a row (a number, as in vim and less) or a page (`p` and a number)."""

from __future__ import annotations

import re

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from tui.widgets.dialogs import Dialog

_ROW = re.compile(r"\s*(?:row\s*)?#?\s*([\d,_ ]+)\s*$", re.IGNORECASE)
_PAGE = re.compile(r"\s*p(?:age)?\s*([\d,_ ]+)\s*$", re.IGNORECASE)


def parse_target(text: str, page_size: int) -> int | None:
    """The 0-based row `text` names: "2001" is row 2,001, "p21" or "page 21" the first row of
    page 21; None when it names neither."""
    for pattern, scale in ((_PAGE, page_size), (_ROW, 1)):
        match = pattern.match(text)
        if match:
            digits = re.sub(r"[,_ ]", "", match.group(1))
            if not digits or int(digits) < 1:
                return None
            return (int(digits) - 1) * scale
    return None


class GotoDialog(Dialog):
    """Asks where to go; dismisses with the 0-based row, or None."""

    def __init__(self, page_size: int, where: str) -> None:
        super().__init__()
        self.page_size = page_size
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(classes="box goto"):
            yield Label(f"Go to ({self.where})", classes="title")
            yield Input(placeholder="row number (2001) or page (p21)", id="goto")
            yield Static("", id="problem")
            yield Label("Enter: go   Escape: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#goto", Input).focus()

    @on(Input.Submitted, "#goto")
    def _go(self, event: Input.Submitted) -> None:
        self._submit(event.value)

    def _submit(self, value: str) -> None:
        row = parse_target(value, self.page_size)
        if row is None:
            self.query_one("#problem", Static).update(
                Text("A row number such as 2001, or p and a page number such as p21.", "bold red")
            )
            return
        self.dismiss(row)
