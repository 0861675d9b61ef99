"""Home: every campaign with status, recipients, sent and the four rates; the lifecycle by key."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import tzinfo

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Static

from core import campaigns
from core.campaigns import CampaignSummary
from core.store import CampaignStatus
from tui import format as fmt
from tui.messages import OpenAnalytics, OpenRecipients
from tui.screens.campaigns.keys import BINDINGS, WRITE_ACTIONS
from tui.screens.campaigns.writes import CampaignWrites
from tui.screens.shared.navigation import PagedScreen
from tui.screens.shared.sorting import Sort, SortableScreen
from tui.widgets.export_dialog import open_export
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable

PAGE = 200
SORTS = (
    Sort("created_at", "created", None, True),
    Sort("name", "name", "name", False),
    Sort("campaign_id", "campaign id", "campaign_id", False),
    Sort("status", "status", "status", False),
    Sort("total_recipients", "recipients", "total_recipients", True),
    Sort("emails_sent", "sent", "emails_sent", True),
    Sort("open_rate", "open rate", "open_rate", True),
    Sort("click_rate", "click rate", "click_rate", True),
    Sort("reply_rate", "reply rate", "reply_rate", True),
    Sort("bounce_rate", "bounce rate", "bounce_rate", True),
    Sort("scheduled_at", "scheduled", "when", True),
    Sort("started_at", "started", "when", True),
)
COLUMNS = (
    Column("name", "Name", 14, priority=0, flex=True),
    Column("campaign_id", "Campaign id", 13, priority=3),
    Column("status", "Status", 9, priority=0),
    Column("total_recipients", "Recips", 9, priority=1, right=True),
    Column("emails_sent", "Sent", 9, priority=2, right=True),
    Column("open_rate", "Open%", 5, priority=1, right=True),
    Column("click_rate", "Click%", 6, priority=1, right=True),
    Column("reply_rate", "Reply%", 6, priority=4, right=True),
    Column("bounce_rate", "Bnc%", 5, priority=2, right=True),
    Column("when", "Sched/started", 11, priority=5),
)


@dataclass(frozen=True)
class CampaignQuery:
    status: CampaignStatus | None = None
    search: str = ""
    sort: str = "created_at"
    descending: bool = True
    offset: int = 0


class CampaignsScreen(PagedScreen, SortableScreen, CampaignWrites):
    READS = "campaigns"
    PAGE_SIZE = PAGE
    QUERY_ATTR = "query_state"
    CLEARED = {"search": "", "status": None}
    WRITE_ACTIONS = WRITE_ACTIONS
    SORTS = SORTS
    STATE_NAME = "campaigns"
    BINDINGS = BINDINGS

    @dataclass
    class CampaignsFetched(Message):
        query: CampaignQuery
        rows: list[CampaignSummary]
        total: int
        live: bool

    @dataclass
    class CampaignsChanged(Message):
        rows: list[CampaignSummary]

    def __init__(self) -> None:
        super().__init__(id="campaigns-screen")
        sort, descending = self.remembered_sort(("created_at", True))
        self.query_state = CampaignQuery(sort=sort, descending=descending)
        self.summaries: dict[str, CampaignSummary] = {}
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="part of a campaign's name, or the start of its id",
            id="search",
            classes="filter",
        )
        yield Static("", id="status-line", classes="status-line")
        yield ResponsiveTable(COLUMNS, id="campaigns")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.table.set_sort(self.sort_column(), self.query_state.descending)
        self.table.focus()
        self.reload()

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#campaigns", ResponsiveTable)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        paused = self._highlighted_status() == CampaignStatus.PAUSED
        if action == "resume_paused":
            return paused
        if action == "lifecycle" and parameters == ("start",):
            return not paused
        return True

    def _highlighted_status(self) -> CampaignStatus | None:
        try:
            key = self.table.current_key()
        except NoMatches:  # not composed yet
            return None
        c = self.summaries.get(key) if key else None
        return c.status if c else None

    @on(DataTable.RowHighlighted, "#campaigns")
    def _row_highlighted(self) -> None:
        self.refresh_bindings()  # Start or Resume, by the selected row's status

    # -- reading ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.fetch(self.query_state)

    @work(thread=True, exclusive=True, exit_on_error=False, group="read")
    def fetch(self, query: CampaignQuery, live: bool = False) -> None:
        with self.db.reading() as session:
            rows = campaigns.list_campaigns(
                session,
                status=query.status,
                search=query.search or None,
                order_by=query.sort,
                descending=query.descending,
                limit=PAGE,
                offset=query.offset,
            )
            total = campaigns.count_campaigns(
                session, status=query.status, search=query.search or None
            )
        self.post_message(self.CampaignsFetched(query, rows, total, live))

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        shown = {int(k) for k in self.summaries}
        if resync or not campaign_ids <= shown:
            self.fetch(self.query_state, live=True)
        else:
            self.fetch_changed(campaign_ids)

    @work(thread=True, exclusive=True, exit_on_error=False, group="live")
    def fetch_changed(self, ids: frozenset[int]) -> None:
        with self.db.reading() as session:
            rows = campaigns.get_campaigns(session, ids)
        self.post_message(self.CampaignsChanged(rows))

    @on(CampaignsChanged)
    def show_changed(self, message: CampaignsChanged) -> None:
        tz = self.console.tz
        for c in message.rows:
            self.summaries[str(c.id)] = c
        self.table.update_rows([(str(c.id), self._cells(c, tz)) for c in message.rows])
        self.refresh_bindings()  # a status may have changed under the cursor
        self.pacer.done()

    @on(CampaignsFetched)
    def show(self, message: CampaignsFetched) -> None:
        if message.live:
            self.pacer.done()
        if message.query != self.query_state:
            return  # an older query answered late
        self.total = message.total
        self.summaries = {str(c.id): c for c in message.rows}
        tz = self.console.tz
        self.table.show_rows(
            [(str(c.id), self._cells(c, tz)) for c in message.rows], flash=message.live
        )
        if self.select_after_reload in self.summaries:
            self.table.select_key(self.select_after_reload)
        self.select_after_reload = None
        self._update_status_line(len(message.rows))
        self.refresh_bindings()

    @staticmethod
    def _cells(c: CampaignSummary, tz: tzinfo | None) -> dict[str, RenderableType]:
        when = c.started_at or c.scheduled_at
        return {
            "name": fmt.literal(c.name),
            "campaign_id": fmt.literal(c.campaign_id),
            "status": fmt.status(c.status),
            "total_recipients": fmt.count(c.total_recipients),
            "emails_sent": fmt.count(c.emails_sent),
            "open_rate": fmt.rate(c.open_rate),
            "click_rate": fmt.rate(c.click_rate),
            "reply_rate": fmt.rate(c.reply_rate),
            "bounce_rate": fmt.rate(c.bounce_rate),
            "when": fmt.short_when(when, tz),
        }

    def _update_status_line(self, shown: int) -> None:
        q = self.query_state
        parts = [Text(q.status.value if q.status else "all statuses", style="bold")]
        if q.search:
            parts.append(Text.assemble("name or id ", fmt.literal(q.search, "italic")))
        label = self.sort_named(q.sort).label
        parts.append(Text(f"sorted by {label} {'▼' if q.descending else '▲'}"))
        if self.total:
            parts.append(Text(f"{q.offset + 1:,}-{q.offset + shown:,} of {self.total:,}"))
        else:
            parts.append(Text("no campaigns" + (" match" if q.search or q.status else " yet")))
        if self.read_only:
            parts.append(Text("read-only", style="bold yellow"))
        self.query_one("#status-line", Static).update(Text(" · ").join(parts))

    def current_sort(self) -> tuple[str, bool]:
        return self.query_state.sort, self.query_state.descending

    def apply_sort(self, key: str, descending: bool) -> None:
        self._set_query(sort=key, descending=descending)

    def _set_query(self, **changes) -> None:
        if "offset" not in changes:
            changes["offset"] = 0
        self.query_state = replace(self.query_state, **changes)
        self.table.set_sort(self.sort_column(), self.query_state.descending)
        self.reload()

    # -- filtering and sorting -------------------------------------------------------------
    def filtered(self) -> bool:
        return bool(self.query_state.search or self.query_state.status)

    def action_clear_filter(self) -> None:
        self.clear_filters()

    def action_status_filter(self, status: str) -> None:
        self._set_query(status=None if status == "all" else CampaignStatus(status))

    def action_page(self, delta: int) -> None:
        offset = self.query_state.offset + delta * PAGE
        if 0 <= offset < max(self.total, 1):
            self._set_query(offset=offset)

    def action_next_page(self) -> None:
        self.action_page(1)

    def action_prev_page(self) -> None:
        self.action_page(-1)

    def action_first_page(self) -> None:
        self._set_query(offset=0)

    def action_last_page(self) -> None:
        self.show_row(self.total - 1)

    def show_row(self, row: int) -> None:
        row = max(min(row, self.total - 1), 0)
        start = self.page_start(row)
        if not self.arrive(row, start, self.query_state.offset):
            self._set_query(offset=start)

    def copy_value(self) -> str | None:
        key = self.table.current_key()
        campaign = self.summaries.get(key) if key else None
        return campaign.campaign_id if campaign else None

    # -- the selected campaign -------------------------------------------------------------
    def selected(self) -> CampaignSummary | None:
        key = self.table.current_key()
        campaign = self.summaries.get(key) if key else None
        if campaign is None:
            self.notify("No campaign selected.", severity="warning")
        return campaign

    @on(DataTable.RowSelected, "#campaigns")
    def action_open(self) -> None:
        if not self.on_top():
            return  # a burst of keys: this screen was closed meanwhile
        campaign = self.selected()
        if campaign:
            self.drill_down(OpenRecipients(self, campaign.id, campaign.name))

    def action_analytics(self) -> None:
        campaign = self.selected()
        if campaign:
            self.drill_down(OpenAnalytics(self, campaign.id, campaign.name))

    def action_export(self) -> None:
        campaign = self.selected()
        if campaign:
            open_export(self, campaign.id, campaign.campaign_id, campaign.name)
