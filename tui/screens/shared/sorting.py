"""What sortable screens share: a sort picker on `o`, `O` to reverse, a click on a column
header, a palette command per sort, and the sort remembered between runs (tui.state)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from textual import on
from textual.widgets import DataTable

from tui import state
from tui.screens.shared.base import SearchableScreen
from tui.widgets.sort_picker import SortPicker


class Sort(NamedTuple):
    key: str  # what the core call sorts by
    label: str  # "open rate", for the picker, the palette and the status line
    column: str | None  # the table column that shows it (its header click sorts by it)
    descending: bool  # the first direction: newest / highest first for times and rates


class SortableScreen(SearchableScreen):
    """Subclasses set SORTS and STATE_NAME and implement current_sort and apply_sort."""

    SORTS: tuple[Sort, ...] = ()
    STATE_NAME = ""

    def current_sort(self) -> tuple[str, bool]:
        raise NotImplementedError

    def apply_sort(self, key: str, descending: bool) -> None:
        """Sort by `key` (one of SORTS) and read the rows again."""
        raise NotImplementedError

    def sort_named(self, key: str) -> Sort:
        return next(s for s in self.SORTS if s.key == key)

    def remembered_sort(self, default: tuple[str, bool]) -> tuple[str, bool]:
        saved = state.load(self.STATE_NAME)
        key, descending = saved.get("sort"), saved.get("descending")
        if (
            isinstance(key, str)
            and any(s.key == key for s in self.SORTS)
            and isinstance(descending, bool)
        ):
            return key, descending
        return default

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        """Sort by `key`, in its first direction unless told; remembered for the next run."""
        if descending is None:
            descending = self.sort_named(key).descending
        state.save(self.STATE_NAME, {"sort": key, "descending": descending})
        self.apply_sort(key, descending)

    def sort_column(self) -> str | None:
        """The column whose header carries the arrow."""
        return self.sort_named(self.current_sort()[0]).column

    def action_pick_sort(self) -> None:
        key, descending = self.current_sort()

        def chosen(picked: str | None) -> None:
            if picked is not None:
                self.sort_by(picked)

        choices = [(s.key, s.label) for s in self.SORTS]
        self.app.push_screen(SortPicker(choices, key, descending), chosen)

    def action_flip_sort(self) -> None:
        key, descending = self.current_sort()
        self.sort_by(key, not descending)

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = event.column_key.value
        key, descending = self.current_sort()
        sort = next((s for s in self.SORTS if s.column == column), None)
        if sort is None:
            self.notify(f"The {event.label.plain} column is not sortable.", markup=False)
        elif sort.key == key:
            self.sort_by(key, not descending)  # a second click reverses
        else:
            self.sort_by(sort.key)

    def sort_commands(self) -> Iterator[tuple[str, str, str]]:
        """(title, help, sort key) of every sort, for the command palette."""
        for s in self.SORTS:
            yield f"Sort by {s.label}", f"Sort the table by {s.label} (o picks, O reverses)", s.key
