"""The latest events across campaigns, newest first, paged by id; filter by type and campaign."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Static

from core import campaigns, events
from core.campaigns import CampaignSummary
from core.events import EventRow
from core.store import EventType
from tui import format as fmt
from tui.messages import OpenTimeline
from tui.screens.shared.base import DataScreen
from tui.screens.shared.navigation import PagedScreen
from tui.widgets.campaign_picker import CampaignPicker
from tui.widgets.events_table import LOG_COLUMNS, event_cells, event_panel
from tui.widgets.footer import Footer
from tui.widgets.table import ResponsiveTable

PAGE = 100
TYPE_KEYS = {str(i + 1): t for i, t in enumerate(EventType)}


@dataclass(frozen=True)
class LogQuery:
    event_type: EventType | None = None
    campaign: str = ""
    before_id: int | None = None
    page: int = 0
    offset: int = 0  # rows skipped from the newest ("go to row"), without before_id


class EventLogScreen(PagedScreen, DataScreen):
    QUERY_ATTR = "log_query"
    READS = "events"
    DEFAULT_CSS = """
    EventLogScreen #event-detail {
        height: auto;
        max-height: 6;
        padding: 0 1;
        border-top: solid $panel;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "back", "Back", id="event_log.back", tooltip="Clear the filter, else go back"
        ),
        Binding(
            "enter",
            "open",
            "Timeline",
            id="event_log.open",
            tooltip="Timeline of this event's recipient",
        ),
        Binding(
            "c",
            "campaign_filter",
            "Campaign",
            id="event_log.campaign",
            tooltip="Only one campaign's events",
        ),
        Binding(
            "right_square_bracket",
            "next_page",
            "Older",
            id="event_log.older",
            tooltip="Older events",
            key_display="]",
        ),
        Binding(
            "left_square_bracket",
            "prev_page",
            "Newer",
            id="event_log.newer",
            tooltip="Newer events",
            key_display="[",
        ),
        Binding(
            "H",
            "first_page",
            "Newest",
            show=False,
            id="event_log.newest",
            tooltip="Back to the newest events",
        ),
        Binding("ctrl+r", "refresh", "Refresh", id="event_log.refresh", tooltip="Fetch again"),
        Binding(
            "0",
            "type_filter('all')",
            "All types",
            show=False,
            id="event_log.all",
            tooltip="Every event type",
        ),
        *(
            Binding(
                key,
                f"type_filter('{t}')",
                t.value.title(),
                show=False,
                id=f"event_log.only_{t}",
                tooltip=f"Only {t} events",
            )
            for key, t in TYPE_KEYS.items()
        ),
    ]

    @dataclass
    class CampaignResolved(Message):
        text: str
        found: list[CampaignSummary]

    @dataclass
    class Counted(Message):
        query: LogQuery
        total: int

    @dataclass
    class EventsFetched(Message):
        query: LogQuery
        rows: tuple[EventRow, ...]

    def __init__(self, campaign: str = "") -> None:
        super().__init__()
        self.log_query = LogQuery(campaign=campaign)
        self.rows: dict[str, EventRow] = {}
        self.page_starts: list[int | None] = []
        self.last_id: int | None = None
        self.shown = 0
        self.shown_query: LogQuery | None = None
        self.pending: EventLogScreen.EventsFetched | None = None  # newer rows held back
        self.newer = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="campaign: part of its name or its id's start (empty: all)",
            id="campaign",
            classes="filter",
        )
        yield Static("", id="status-line", classes="status-line")
        yield ResponsiveTable(LOG_COLUMNS, id="log")
        yield Static("", id="event-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "latest events"
        self.query_one("#campaign").display = False
        self.query_one("#log").focus()
        self.reload()

    def reload(self) -> None:
        self.fetch(self.log_query)

    def action_refresh(self) -> None:
        self.reload()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        # Only the newest page moves; an older page stays put while someone reads it.
        if self.log_query.before_id is None and not self.log_query.offset:
            self.fetch(self.log_query)
        else:
            self.pacer.done()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def fetch(self, query: LogQuery) -> None:
        with self.db.reading() as session:
            rows = events.latest_events(
                session,
                event_type=query.event_type,
                campaign=query.campaign or None,
                before_id=query.before_id,
                limit=PAGE,
                offset=query.offset,
            )
        self.post_message(self.EventsFetched(query, rows))

    @work(thread=True, exclusive=True, exit_on_error=False, group="count")
    def count(self, query: LogQuery) -> None:
        with self.db.reading() as session:
            total = events.count_events(
                session, event_type=query.event_type, campaign=query.campaign or None
            )
        self.post_message(self.Counted(query, total))

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        q = message.query
        if (q.event_type, q.campaign) == (self.log_query.event_type, self.log_query.campaign):
            self.show_row(max(message.total - 1, 0))

    @on(EventsFetched)
    def show(self, message: EventsFetched) -> None:
        self.pacer.done()
        if message.query != self.log_query:
            return
        table = self.query_one("#log", ResponsiveTable)
        again = message.query == self.shown_query  # a refresh of what is shown, not a new query
        newest_page = message.query.before_id is None and not message.query.offset
        if again and newest_page and table.cursor_row > 0 and self.rows:
            # The reader is on a row below the first: leave the rows where they are (like
            # `less`), and say how many newer ones wait; the first row brings them in.
            top = max(int(k) for k in self.rows)
            self.pending = message
            self.newer = sum(1 for e in message.rows if e.id > top)
            self._update_status_line()
            return
        self._show_rows(message, follow=newest_page or not again)

    def _show_rows(self, message: EventsFetched, *, follow: bool) -> None:
        """Show the fetched page; `follow`: the cursor on the newest row, at the top (tail -f)."""
        tz = self.console.tz
        self.pending, self.newer = None, 0
        self.shown_query = message.query
        self.rows = {str(e.id): e for e in message.rows}
        self.last_id = message.rows[-1].id if message.rows else None
        self.shown = len(message.rows)
        table = self.query_one("#log", ResponsiveTable)
        arriving = table.arrive_at is not None  # "go to row": the table puts the cursor there
        table.show_rows(
            [(str(e.id), event_cells(e, tz, with_recipient=True)) for e in message.rows],
            keep_cursor=not follow,
        )
        if follow and table.row_count and not arriving:
            table.move_cursor(row=0, animate=False)
            table.scroll_home(animate=False)
        self._show_detail(table.current_key())
        self._update_status_line()

    @on(DataTable.RowHighlighted, "#log")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row == 0 and self.pending is not None:
            self._show_rows(self.pending, follow=True)
            return
        self._show_detail(event.row_key.value if event.row_key else None)

    def _show_detail(self, key: str | None) -> None:
        """The selected event uncut: full user agent, bounce type, code and text, link, IP."""
        row = self.rows.get(key) if key else None
        detail = event_panel(row, self.console.tz) if row is not None else Text("")
        self.query_one("#event-detail", Static).update(detail)

    def _update_status_line(self) -> None:
        q = self.log_query
        first = q.page * PAGE + 1
        parts = [
            Text(
                f"newest {first:,}-{first + self.shown - 1:,}" if self.shown else "no events",
                style="bold",
            ),
            Text(q.event_type.value if q.event_type else "all types"),
            Text.assemble("campaign ", fmt.literal(q.campaign))
            if q.campaign
            else Text("all campaigns"),
        ]
        if self.newer:
            more = f"{PAGE:,}+" if self.newer >= PAGE else f"{self.newer:,}"
            parts.insert(1, Text(f"{more} newer: g shows them", style="bold yellow"))
        self.query_one("#status-line", Static).update(Text(" · ").join(parts))

    def _set_query(self, **changes) -> None:
        changes.setdefault("before_id", None)
        changes.setdefault("page", 0)
        changes.setdefault("offset", 0)
        if changes["page"] == 0:
            self.page_starts = []
        self.log_query = replace(self.log_query, **changes)
        self.reload()

    def action_next_page(self) -> None:
        if self.last_id is not None and self.shown == PAGE:
            self.page_starts.append(self.log_query.before_id)
            self._set_query(before_id=self.last_id, page=self.log_query.page + 1)

    def action_prev_page(self) -> None:
        if self.page_starts:
            before = self.page_starts.pop()
            self.log_query = replace(self.log_query, before_id=before, page=self.log_query.page - 1)
            self.reload()
        elif self.log_query.page > 0:  # after "go to": the page before by its offset
            page = self.log_query.page - 1
            self._set_query(page=page, offset=page * PAGE)

    def action_first_page(self) -> None:
        if self.log_query.before_id is None and self.pending is not None:
            self._show_rows(self.pending, follow=True)
        else:
            self._set_query()

    def action_last_page(self) -> None:
        self.count(self.log_query)

    def show_row(self, row: int) -> None:
        start = self.page_start(row)
        if not self.arrive(row, start, self.log_query.page * PAGE if self.shown else None):
            self.page_starts = []
            self.log_query = replace(
                self.log_query, before_id=None, page=start // PAGE, offset=start
            )
            self.reload()

    def copy_value(self) -> str | None:
        key = self.query_one("#log", ResponsiveTable).current_key()
        event = self.rows.get(key) if key else None
        return event.email_address if event else None

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#log", ResponsiveTable)

    def action_type_filter(self, event_type: str) -> None:
        self._set_query(event_type=None if event_type == "all" else EventType(event_type))

    def action_campaign_filter(self) -> None:
        box = self.query_one("#campaign", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#campaign")
    def _campaign_chosen(self, event: Input.Submitted) -> None:
        self.query_one("#log").focus()
        text = event.value.strip()
        if text:
            self.resolve_campaign(text)  # a name or an id's start: which campaign is it?
        else:
            event.input.display = False
            self._set_query(campaign="")

    @work(thread=True, exclusive=True, exit_on_error=False, group="resolve")
    def resolve_campaign(self, text: str) -> None:
        with self.db.reading() as session:
            found = campaigns.find_campaigns(session, text, limit=2)
        self.post_message(self.CampaignResolved(text, found))

    @on(CampaignResolved)
    def _resolved(self, message: CampaignResolved) -> None:
        found = message.found
        if len(found) == 1 or (found and found[0].campaign_id == message.text):
            self._filter_by(found[0])
        elif not found:
            self.notify(
                f"No campaign's name or id matches {message.text!r}.",
                severity="warning",
                markup=False,
            )
        else:
            picker = CampaignPicker(
                title="Events of which campaign?", text=message.text, verb="show its events"
            )
            self.app.push_screen(picker, self._filter_by)

    def _filter_by(self, campaign: CampaignSummary | None) -> None:
        if campaign is not None:
            self.query_one("#campaign", Input).value = campaign.campaign_id
            self._set_query(campaign=campaign.campaign_id)

    def action_back(self) -> None:
        if not self.query("#campaign"):  # not composed yet: Escape right after `l`
            self.go_back()
            return
        box = self.query_one("#campaign", Input)
        if self.log_query.event_type or self.log_query.campaign or box.display:
            box.value = ""
            box.display = False
            self.query_one("#log").focus()
            self._set_query(event_type=None, campaign="")
        else:
            self.go_back()

    @on(DataTable.RowSelected, "#log")
    def action_open(self) -> None:
        if not self.on_top():
            return  # a burst of keys: this screen was closed meanwhile
        key = self.query_one("#log", ResponsiveTable).current_key()
        event = self.rows.get(key) if key else None
        if event is not None:
            self.drill_down(OpenTimeline(self, event.recipient_id))
