"""Keys every paged table screen shares (k9s, lazygit and less habits): first and last page,
`:` to go to a row or page, `Y` to copy the selected row's email or id (OSC 52, which reaches
the local clipboard over SSH too). Row keys (g/G, Home/End, PgUp/PgDn) are the table's
(tui/widgets/table.py); PgUp/PgDn at its edges call turn_page here."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from tui.screens.shared.base import DataScreen
from tui.widgets.goto import GotoDialog
from tui.widgets.table import ResponsiveTable

NAV_BINDINGS: list[BindingType] = [
    Binding(
        "less_than_sign",
        "first_page",
        "First page",
        show=False,
        id="navigation.first_page",
        tooltip="Back to the first page",
    ),
    Binding(
        "greater_than_sign",
        "last_page",
        "Last page",
        show=False,
        id="navigation.last_page",
        tooltip="The last page",
    ),
    Binding(
        "colon",
        "goto",
        "Go to",
        show=False,
        id="navigation.goto",
        tooltip="Go to a row (2001) or a page (p21)",
    ),
    Binding(
        "Y",
        "copy",
        "Copy",
        show=False,
        id="navigation.copy",
        tooltip="Copy the selected row's email or id to the clipboard",
    ),
]


def page_bindings(
    screen: str, what: str, *, show: bool, labels: tuple[str, str]
) -> list[BindingType]:
    """`]` and `[`: the next and the previous page of a table read a page at a time."""
    (next_label, prev_label), ids = labels, (f"{screen}.next", f"{screen}.prev")
    return [
        Binding("right_square_bracket", "next_page", next_label, show=show, id=ids[0],
                tooltip=f"Next page of {what}", key_display="]"),
        Binding("left_square_bracket", "prev_page", prev_label, show=show, id=ids[1],
                tooltip=f"Previous page of {what}", key_display="["),
    ]  # fmt: skip


def status_keys(statuses: Iterable[StrEnum]) -> dict[str, StrEnum]:
    """`1`, `2`, ...: one key a status, in the order the statuses are declared."""
    return {str(i + 1): status for i, status in enumerate(statuses)}


def status_bindings(screen: str, statuses: Iterable[StrEnum], what: str) -> list[BindingType]:
    """`0` for every status, then a digit a status: the status filter (action_status_filter)."""
    return [
        Binding("0", "status_filter('all')", "All", show=False, id=f"{screen}.all",
                tooltip="Every status"),
        *(
            Binding(key, f"status_filter('{status}')", status.value.title(), show=False,
                    id=f"{screen}.only_{status}", tooltip=f"Only {status} {what}")
            for key, status in status_keys(statuses).items()
        ),
    ]  # fmt: skip


class PagedScreen(DataScreen):
    """A DataScreen whose `table` shows one page of PAGE_SIZE rows of a longer list.

    Subclasses have: `table`; action_next_page/prev_page/first_page (doing nothing when there
    is no such page); QUERY_ATTR, the attribute holding the query of the page shown (so a
    turn is seen); `show_row(index)` (show the page holding 0-based row `index` and select
    it); `action_last_page`; `copy_value()` (the selected row's email or id, or None)."""

    BINDINGS: ClassVar[list[BindingType]] = NAV_BINDINGS
    PAGE_SIZE = 100
    QUERY_ATTR = "page_query"

    @property
    def table(self) -> ResponsiveTable:
        raise NotImplementedError

    def _position(self) -> Any:
        return getattr(self, self.QUERY_ATTR)

    def turn_page(self, delta: int) -> bool:
        """The next (1) or previous (-1) page, if there is one; True when it turned."""
        before = self._position()
        if delta > 0:
            self.action_next_page()
        else:
            self.action_prev_page()
        return self._position() != before

    def action_goto(self) -> None:
        def go(row: int | None) -> None:
            if row is not None:
                self.show_row(row)

        where = f"{self.PAGE_SIZE} rows a page"
        self.app.push_screen(GotoDialog(self.PAGE_SIZE, where), go)

    def page_start(self, row: int) -> int:
        return row - row % self.PAGE_SIZE

    def arrive(self, row: int, start: int, shown_start: int | None) -> bool:
        """Select `row` of the page that starts at row `start`: now, when that page is the one
        shown (starting at `shown_start`; True), else once it arrives (False: fetch it)."""
        if start == shown_start:
            self.table.move_cursor(row=row - start, animate=False)
            return True
        self.table.arrive_at = row - start
        return False

    def action_copy(self) -> None:
        value = self.copy_value()
        if not value:
            self.notify("Nothing selected to copy.", severity="warning")
            return
        self.app.copy_to_clipboard(value)
        self.notify(f"Copied {value}", markup=False)

    # -- for subclasses --------------------------------------------------------------------
    def action_next_page(self) -> None:
        raise NotImplementedError

    def action_prev_page(self) -> None:
        raise NotImplementedError

    def action_first_page(self) -> None:
        raise NotImplementedError

    def action_last_page(self) -> None:
        raise NotImplementedError

    def show_row(self, row: int) -> None:
        raise NotImplementedError

    def copy_value(self) -> str | None:
        raise NotImplementedError
