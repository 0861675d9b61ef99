"""A DataTable that fits its columns to the width, updates rows in place and keeps the cursor."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

Row = tuple[str, Mapping[str, RenderableType]]
FLASH_SECONDS = 1.5


def _flashed(value: RenderableType) -> RenderableType:
    """A changed cell, marked so the eye catches it (reverse video works in 16 colours too)."""
    if isinstance(value, Text):
        marked = value.copy()
        marked.stylize("reverse")
        return marked
    if isinstance(value, str):
        return Text(value, style="reverse")
    return value


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    priority: int = 0  # columns with the highest priority number are dropped first when narrow
    flex: bool = False  # takes the width left over (at least `width`)
    right: bool = False


class ResponsiveTable(DataTable):
    """Columns drop by priority to fit; `show_rows` updates cells in place by row key."""

    # Home/End move to the first/last row (DataTable's own scroll sideways, which hides the
    # first columns); PgUp/PgDn at the edge of the rows shown turn the screen's page.
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down", tooltip="Next row"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up", tooltip="Previous row"),
        Binding(
            "g,home",
            "scroll_top",
            "Top",
            show=False,
            id="table.top",
            tooltip="First row of the page shown",
        ),
        Binding(
            "G,end",
            "scroll_bottom",
            "Bottom",
            show=False,
            id="table.bottom",
            tooltip="Last row of the page shown",
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id="table.page_down",
            tooltip="A screenful down; from the last row, the next page",
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            show=False,
            id="table.page_up",
            tooltip="A screenful up; from the first row, the previous page",
        ),
    ]

    def __init__(self, columns: Sequence[Column], **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self.all_columns = tuple(columns)
        self.shown_columns: tuple[Column, ...] = ()
        self._widths: dict[str, int] = {}
        self.sort_key: str | None = None
        self.sort_descending = False
        self._rows: list[Row] = []
        self.arrive_at: int | None = None  # the row to select when the next page arrives

    # -- paging at the edges ---------------------------------------------------------------
    def _turn_page(self, delta: int) -> bool:
        """Ask the screen for the next (delta 1) or previous (-1) page: see PagedScreen."""
        turn = getattr(self.screen, "turn_page", None)
        return bool(turn and turn(delta))

    def action_page_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1 and self._turn_page(1):
            self.arrive_at = 0
            return
        super().action_page_down()

    def action_page_up(self) -> None:
        if self.row_count and self.cursor_row <= 0 and self._turn_page(-1):
            self.arrive_at = -1
            return
        super().action_page_up()

    # -- columns ---------------------------------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        if width <= 0:
            return
        chosen = sorted(self.all_columns, key=lambda c: c.priority)
        # 2 cells of padding per column, 2 for the scrollbar
        while len(chosen) > 1 and sum(c.width + 2 for c in chosen) + 2 > width:
            chosen.pop()
        ordered = tuple(c for c in self.all_columns if c in chosen)
        spare = width - 2 - sum(c.width + 2 for c in ordered)
        widths = {c.key: c.width + (max(spare, 0) if c.flex else 0) for c in ordered}
        if ordered == self.shown_columns and widths == self._widths:
            return
        self.shown_columns, self._widths = ordered, widths
        self._rebuild()

    def _label(self, column: Column) -> Text:
        label = column.label
        if column.key == self.sort_key:
            arrow = "▼" if self.sort_descending else "▲"
            width = self._widths.get(column.key, column.width)
            # A narrow column keeps its arrow: the label gives way ("Open▲" in 5 cells).
            label = f"{label} {arrow}" if len(label) + 2 <= width else label[: width - 1] + arrow
        return Text(label, justify="right" if column.right else "left", style="bold")

    def _rebuild(self) -> None:
        key = self.current_key()
        self.clear(columns=True)
        for column in self.shown_columns:
            self.add_column(self._label(column), key=column.key, width=self._widths[column.key])
        self._add(self._rows)
        self.select_key(key)

    def set_sort(self, key: str | None, descending: bool) -> None:
        if (key, descending) == (self.sort_key, self.sort_descending):
            return  # a repaint of the whole table for nothing, while the next page is read
        self.sort_key, self.sort_descending = key, descending
        # Every header again: a label changed in place stays painted from the table's cache
        # (the old column kept its arrow).
        if self.shown_columns:
            self._rebuild()

    # -- rows ------------------------------------------------------------------------------
    def _cells(self, cells: Mapping[str, RenderableType]) -> list[RenderableType]:
        out = []
        for column in self.shown_columns:
            value = cells.get(column.key, "")
            if column.right and isinstance(value, str):
                value = Text(value, justify="right")
            out.append(value)
        return out

    def _add(self, rows: Sequence[Row]) -> None:
        for key, cells in rows:
            self.add_row(*self._cells(cells), key=key)

    def show_rows(self, rows: Sequence[Row], *, keep_cursor: bool = True, flash: bool = False):
        """Show exactly these rows in this order: changed cells updated, others left alone."""
        old_keys = [k for k, _ in self._rows]
        new_keys = [k for k, _ in rows]
        previous = dict(self._rows)
        self._rows = list(rows)
        if not self.shown_columns:
            return
        cursor = self.current_key() if keep_cursor else None
        position = self.cursor_row
        # One repaint for the whole change, not one per cleared or added row.
        with self.app.batch_update():
            if old_keys != new_keys:
                self.clear()
                self._add(rows)
            else:
                for key, cells in rows:
                    self._update_cells(key, previous.get(key, {}), cells, flash)
            if cursor is not None and cursor not in new_keys and self.row_count:
                # Its row went (deleted): the cursor stays where it was, on the next row.
                self.move_cursor(row=min(position, self.row_count - 1), animate=False)
            else:
                self.select_key(cursor)
            if self.arrive_at is not None and old_keys != new_keys and rows:
                last = len(rows) - 1
                row = last if self.arrive_at < 0 else min(self.arrive_at, last)
                self.move_cursor(row=row, animate=False)
                self.arrive_at = None

    def update_rows(self, rows: Sequence[Row], *, flash: bool = True) -> None:
        """Change some rows already shown, in place; rows not shown are ignored."""
        index = {k: i for i, (k, _) in enumerate(self._rows)}
        for key, cells in rows:
            i = index.get(key)
            if i is None:
                continue
            before = self._rows[i][1]
            self._rows[i] = (key, cells)
            if self.shown_columns:
                self._update_cells(key, before, cells, flash)

    def _update_cells(self, key: str, before, cells, flash: bool) -> None:
        for column in self.shown_columns:
            value = cells.get(column.key, "")
            if before.get(column.key, "") == value:
                continue
            shown = (
                Text(value, justify="right") if column.right and isinstance(value, str) else value
            )
            with contextlib.suppress(CellDoesNotExist, RowDoesNotExist):
                if flash:
                    self.update_cell(key, column.key, _flashed(shown))
                    self.set_timer(FLASH_SECONDS, partial(self._unflash, key, column.key, value))
                else:
                    self.update_cell(key, column.key, shown)

    def _unflash(self, key: str, column_key: str, value: RenderableType) -> None:
        """Back to the plain look, unless the cell has changed again since."""
        current = dict(self._rows).get(key, {}).get(column_key)
        if current is not value:
            return
        column = next((c for c in self.shown_columns if c.key == column_key), None)
        if column is None:
            return
        shown = Text(value, justify="right") if column.right and isinstance(value, str) else value
        with contextlib.suppress(CellDoesNotExist, RowDoesNotExist):
            self.update_cell(key, column_key, shown)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def select_key(self, key: str | None) -> None:
        if key is None:
            return
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        self.move_cursor(row=index, animate=False)

    @property
    def row_keys(self) -> list[str]:
        return [k for k, _ in self._rows]
