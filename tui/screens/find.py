"""Find a recipient by email across every campaign; Enter opens the timeline."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Static

from core import recipients
from core.recipients import RecipientMatch
from tui import format as fmt
from tui.messages import OpenTimeline
from tui.screens.shared.base import DataScreen
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable

COLUMNS = (
    Column("email_address", "Email", 20, priority=0, flex=True),
    Column("campaign_name", "Campaign", 20, priority=0),  # the name people know ...
    Column("campaign", "Campaign id", 13, priority=2),  # ... and the id messages use
    Column("status", "Status", 12, priority=0),
    Column("sent_at", "Sent", 11, priority=1),
    Column("opened_at", "Opened", 11, priority=2),
    Column("clicked_at", "Clicked", 11, priority=4),
    Column("bounced_at", "Bounced", 11, priority=4),
)


class FindScreen(DataScreen):
    READS = "recipients"
    BINDINGS = [
        Binding("escape", "back", "Back", id="find.back", tooltip="Back"),
        # A priority binding runs as the key arrives, before the keys after it are routed: the
        # letters typed right after `/` (in the same burst, over SSH) then reach the box.
        Binding(
            "slash",
            "focus_search",
            "Search",
            id="find.search",
            tooltip="Edit the address",
            priority=True,
        ),
    ]

    @dataclass
    class MatchesFetched(Message):
        text: str
        matches: tuple[RecipientMatch, ...]

    def __init__(self, email: str = "") -> None:
        super().__init__()
        self.initial = email
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            self.initial, placeholder="email address or part of one", id="email", classes="filter"
        )
        yield Static(
            "Type an address; Enter or ↓ to the results.", id="status-line", classes="status-line"
        )
        yield ResponsiveTable(COLUMNS, id="matches")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "find a recipient"
        self.query_one("#email").focus()
        if self.initial:
            self.search(self.initial)

    def action_focus_search(self) -> None:
        box = self.query_one("#email", Input)
        if box.has_focus:
            raise SkipAction()  # typing in the box: `/` is a character of the address
        # At once: Widget.focus() would wait for the keys already queued, and they'd be lost.
        self.set_focus(box)

    @on(Input.Changed, "#email")
    def _changed(self, event: Input.Changed) -> None:
        self.text = event.value.strip()
        if len(self.text) >= 3:
            self.search(self.text)

    @on(Input.Submitted, "#email")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.search(event.value.strip())
        self.query_one("#matches").focus()

    def key_down(self) -> None:
        if self.query_one("#email").has_focus:
            self.query_one("#matches").focus()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        if self.text:
            self.search(self.text)
        else:
            self.pacer.done()

    def reload(self) -> None:
        if self.text:
            self.search(self.text)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def search(self, text: str) -> None:
        with self.db.reading() as session:
            matches = recipients.find_recipients(session, text)
        self.post_message(self.MatchesFetched(text, matches))

    @on(MatchesFetched)
    def show(self, message: MatchesFetched) -> None:
        self.pacer.done()
        if message.text != self.text and self.text:
            return
        tz = self.console.tz
        self.query_one("#matches", ResponsiveTable).show_rows(
            [
                (
                    str(m.recipient_id),
                    {
                        "email_address": fmt.literal(m.email_address),
                        "campaign_name": fmt.literal(m.campaign_name),
                        "campaign": fmt.literal(m.campaign),
                        "status": fmt.status(m.status),
                        "sent_at": fmt.short_when(m.sent_at, tz),
                        "opened_at": fmt.short_when(m.opened_at, tz),
                        "clicked_at": fmt.short_when(m.clicked_at, tz),
                        "bounced_at": fmt.short_when(m.bounced_at, tz),
                    },
                )
                for m in message.matches
            ]
        )
        n = len(message.matches)
        self.query_one("#status-line", Static).update(
            Text.assemble(
                (fmt.plural(n, "match", "matches"), "bold"),
                " for ",
                fmt.literal(message.text, "italic"),
            )
        )

    @on(DataTable.RowSelected, "#matches")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.drill_down(OpenTimeline(self, int(event.row_key.value)))
