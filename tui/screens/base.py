"""What every screen shares: the database, worker errors as notifications, filter handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from core.errors import CampaignConsoleError
from tui.live import RefreshPacer

if TYPE_CHECKING:
    from core.db import Database
    from tui.app import CampaignConsoleApp


class WriteFinished(Message):
    """A write worker committed; `text` says what happened."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DataScreen(Screen):
    """A screen that reads and writes through core in thread workers."""

    app: CampaignConsoleApp

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = RefreshPacer(self)
        self._shown_once = False
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
        if self._shown_once and self.app.live:
            self.reload()
        self._shown_once = True

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        """Refresh what changed; call self.pacer.done() once it is painted."""
        self.reload()

    @property
    def db(self) -> Database:
        return self.app.database

    @property
    def read_only(self) -> bool:
        return self.app.read_only

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            if event.worker.group == "live" or self.pacer.running:
                self.pacer.done()
            self.app.report_error(event.worker.error)

    @work(thread=True, exit_on_error=False, group="write")
    def write(self, change: Callable[[Any], str]) -> None:
        """Run change(session) in one transaction; its return value is the notification."""
        self.post_message(WriteFinished(self.db.run(change)))

    @on(WriteFinished)
    def _write_finished(self, message: WriteFinished) -> None:
        self.notify(message.text, markup=False)
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

    def drill_down(self, screen: Screen) -> None:
        if self.on_top():
            self.app.push_screen(screen)

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


def error_text(error: BaseException) -> str:
    if isinstance(error, CampaignConsoleError):
        return str(error)
    return f"{type(error).__name__}: {error}"
