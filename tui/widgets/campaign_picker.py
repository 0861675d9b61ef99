"""Pick a campaign by what the screens show of it: part of its name, or the start of its id
(core.campaigns.manage.find_campaigns). Used by compare and by the event log's campaign filter."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from core import campaigns
from core.campaigns import CampaignSummary
from tui import format as fmt
from tui.context import console_of
from tui.widgets.dialogs import Dialog
from tui.widgets.table import Column, ResponsiveTable

PICK_LIMIT = 50
PICK_COLUMNS = (
    Column("name", "Name", 16, priority=0, flex=True),
    Column("campaign_id", "Campaign id", 13, priority=1),
    Column("status", "Status", 9, priority=0),
    Column("emails_sent", "Sent", 8, priority=2, right=True),
)


class CampaignPicker(Dialog):
    """Type part of a name or the start of an id, arrows, Enter. Enter picks the highlighted
    row of the matches for what is typed now: when it comes before they do (a pasted id),
    the pick waits for them."""

    DEFAULT_CSS = """
    CampaignPicker .box {
        height: 80%;
    }
    CampaignPicker #pick-list {
        height: 1fr;
    }
    """
    BINDINGS = [
        *Dialog.BINDINGS,
        Binding("down", "move(1)", "Down", show=False, id="campaign_picker.down", tooltip="Next"),
        Binding("up", "move(-1)", "Up", show=False, id="campaign_picker.up", tooltip="Previous"),
    ]

    @dataclass
    class CampaignsFound(Message):
        search: str
        found: list[CampaignSummary]

    def __init__(
        self,
        *,
        exclude: int | None = None,
        title: str = "Compare with…",
        text: str = "",
        verb: str = "compare",
    ) -> None:
        super().__init__()
        self.exclude = exclude
        self.title_text = title
        self.verb = verb
        self.initial = text
        self.found: dict[str, CampaignSummary] = {}
        self.search = text.strip()
        self.shown_search: str | None = None  # the search whose matches the list shows
        self.pick_waiting = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Input(
                self.initial,
                placeholder="part of the name, or the id's start",
                id="pick-search",
                select_on_focus=False,  # what was typed before is refined, not replaced
            )
            yield ResponsiveTable(PICK_COLUMNS, id="pick-list")
            yield Static("", id="problem")
            yield Label(f"↑↓: choose   Enter: {self.verb}   Escape: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#pick-search").focus()
        self.find(self.search)

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#pick-list", ResponsiveTable)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def find(self, search: str) -> None:
        with console_of(self).database.reading() as session:
            if search:
                found = campaigns.find_campaigns(session, search, limit=PICK_LIMIT)
            else:
                found = campaigns.list_campaigns(session, limit=PICK_LIMIT)
        self.post_message(self.CampaignsFound(search, found))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            console_of(self).report_error(event.worker.error, reading="campaigns")

    @on(CampaignsFound)
    def show(self, message: CampaignsFound) -> None:
        if message.search != self.search:
            return
        rows = [c for c in message.found if c.id != self.exclude]
        self.found = {str(c.id): c for c in rows}
        self.shown_search = message.search
        self.table.show_rows(
            [
                (
                    str(c.id),
                    {
                        "name": fmt.literal(c.name),
                        "campaign_id": fmt.literal(c.campaign_id),
                        "status": fmt.status(c.status),
                        "emails_sent": fmt.count(c.emails_sent),
                    },
                )
                for c in rows
            ],
            keep_cursor=False,
        )
        problem = "" if rows else "No campaign matches."
        self.query_one("#problem", Static).update(Text(problem, style="bold red"))
        if self.pick_waiting:
            self.pick_waiting = False
            self.pick()

    @on(Input.Changed, "#pick-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()
        self.find(self.search)

    def action_move(self, delta: int) -> None:
        if delta > 0:
            self.table.action_cursor_down()
        else:
            self.table.action_cursor_up()

    @on(Input.Submitted, "#pick-search")
    @on(DataTable.RowSelected, "#pick-list")
    def pick(self) -> None:
        if self.shown_search != self.search:
            self.pick_waiting = True  # the list still shows an older search's matches
            return
        key = self.table.current_key()
        if key is not None and key in self.found:
            self.dismiss(self.found[key])
