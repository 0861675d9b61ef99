"""What every screen shares: the database, worker errors as notifications, filter handling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from textual import events, on, work
from textual.events import Key
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from core.store import Database
from tui.context import Console
from tui.live import RefreshPacer
from tui.messages import OpenScreen
from tui.widgets.table import ResponsiveTable


@dataclass
class WriteFinished(Message):
    """A write worker committed; `text` says what happened, `select` is the row key to put
    the cursor on once the screen has read its rows again (a campaign just created)."""

    text: str
    select: str | None = None


class DataScreen(Screen):
    """A screen that reads and writes through core in thread workers."""

    READS = "this screen"  # what its reads fetch, for "Could not read campaigns: ..."
    # Actions that write: hidden in a read-only session, and their keys say why they do nothing.
    WRITE_ACTIONS: frozenset[str] = frozenset()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = RefreshPacer(self)
        self._shown_once = False
        self.select_after_reload: str | None = None  # a row key, once the rows are read again
        self._ready = False  # mounted and painted once: it can be closed without harm
        self._close_when_ready = False  # Escape came while it was still opening

    @on(events.Mount)
    def _mounted(self) -> None:
        self.call_after_refresh(self._set_ready)

    def _set_ready(self) -> None:
        self._ready = True
        if self._close_when_ready:
            self.go_back()

    def on_screen_resume(self) -> None:
        # Changes that arrived while another screen was on top were not shown here.
        if self._shown_once and self.console.live:
            self.reload()
        self._shown_once = True

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        """Refresh what changed; call self.pacer.done() once it is painted."""
        self.reload()

    @property
    def console(self) -> Console:
        """The app, as what a screen needs of it (tui.context)."""
        return cast(Console, self.app)

    @property
    def db(self) -> Database:
        return self.console.database

    @property
    def read_only(self) -> bool:
        return self.console.read_only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in self.WRITE_ACTIONS)

    def on_key(self, event: Key) -> None:
        """A write key in a read-only session: say why nothing happens."""
        if not self.read_only:
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.action.partition("(")[0] in self.WRITE_ACTIONS:
                event.stop()
                self.notify(
                    f"read-only: {binding.description or binding.action} would change the "
                    "database, and this session only reads.",
                    severity="warning",
                    markup=False,
                )
                return

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            if event.worker.group == "live" or self.pacer.running:
                self.pacer.done()
            reading = None if event.worker.group == "write" else self.READS
            self.console.report_error(event.worker.error, reading=reading)

    @work(thread=True, exit_on_error=False, group="write")
    def write(self, change: Callable[[Any], str | tuple[str, str]]) -> None:
        """Run change(session) in one transaction; it returns the notification, or the
        notification and the key of the row to select afterwards."""
        done = self.db.run(change)
        text, select = done if isinstance(done, tuple) else (done, None)
        self.post_message(WriteFinished(text, select))

    @on(WriteFinished)
    def _write_finished(self, message: WriteFinished) -> None:
        self.notify(message.text, markup=False)
        self.select_after_reload = message.select
        self.reload()

    def reload(self) -> None:
        """Fetch what the screen shows again (after a write, or on request)."""

    # -- moving between screens -------------------------------------------------------------
    # Keys arrive in bursts (over SSH, or typed fast): a row's Enter can be handled after this
    # screen stopped being the one shown. A drill-down or a back from a screen that is not on
    # top is dropped, so a burst of Enter/Escape never stacks screens.
    def on_top(self) -> bool:
        """Is this the screen shown? (A key's late message can reach a screen since closed.)"""
        return self.is_mounted and not self._close_when_ready and self.app.screen is self

    def drill_down(self, message: OpenScreen) -> None:
        """Ask the app to open another screen (tui.messages): only from the screen shown."""
        if self.on_top():
            self.post_message(message)

    def go_back(self) -> None:
        # An Escape that comes while the screen is still opening closes it once it is open:
        # closing it at once breaks Textual's own Header, still mounting (NoMatches).
        if self.app.screen is not self or len(self.app.screen_stack) <= 2:
            return
        if not self._ready:
            self._close_when_ready = True
            return
        self.app.pop_screen()

    def action_back(self) -> None:
        self.go_back()


class SearchableScreen(DataScreen):
    """A screen whose table has a search box (`#search`, hidden until `/`) that filters as
    you type. Subclasses have `table`, `_set_query(**changes)`, `filtered()` (is any filter
    set?) and CLEARED: the query changes that drop every filter."""

    CLEARED: dict[str, Any] = {"search": ""}

    @property
    def table(self) -> ResponsiveTable:
        raise NotImplementedError

    def _set_query(self, **changes: Any) -> None:
        raise NotImplementedError

    def filtered(self) -> bool:
        raise NotImplementedError

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._set_query(search=event.value.strip())

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()

    def clear_filters(self) -> bool:
        """Hide the search box and drop every filter; False when there was none to drop
        (Escape then goes back instead)."""
        found = self.query("#search")
        if not found:  # not composed yet (Escape right after the key that opened it)
            return False
        box = found.first(Input)
        if not (self.filtered() or box.display):
            return False
        box.value = ""
        box.display = False
        self.table.focus()
        self._set_query(**self.CLEARED)
        return True
