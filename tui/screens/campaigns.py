"""Home: every campaign with status, recipients, sent and the four rates; the lifecycle by key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Static

from core import campaigns as campaigns_core
from core import counters, recipients
from core.campaigns import CampaignSummary
from core.models import CampaignStatus
from tui import format as fmt
from tui.screens.base import SearchableScreen
from tui.screens.navigation import PagedScreen
from tui.widgets.dialogs import (
    AddRecipientsDialog,
    CampaignFields,
    CampaignForm,
    ConfirmDialog,
    ScheduleDialog,
)
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable

PAGE = 200
STATUS_KEYS = {str(i + 1): status for i, status in enumerate(CampaignStatus)}
SORTS = (
    ("created_at", "created"),
    ("name", "name"),
    ("campaign_id", "id"),
    ("status", "status"),
    ("total_recipients", "recipients"),
    ("emails_sent", "sent"),
    ("open_rate", "open %"),
    ("click_rate", "click %"),
    ("reply_rate", "reply %"),
    ("bounce_rate", "bounce %"),
    ("scheduled_at", "scheduled"),
    ("started_at", "started"),
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

# action name -> (key, footer label, lifecycle action or None)
LIFECYCLE = {
    "start": "start",
    "pause": "pause",
    "resume": "resume",
    "complete": "complete",
    "fail": "fail",
}
WRITE_ACTIONS = {
    "new",
    "edit",
    "schedule",
    "duplicate",
    "delete",
    "add_recipients",
    "retry_failed",
    "recount",
    *(f"lifecycle('{a}')" for a in LIFECYCLE),
    "lifecycle",
}


@dataclass(frozen=True)
class CampaignQuery:
    status: CampaignStatus | None = None
    search: str = ""
    sort: str = "created_at"
    descending: bool = True
    offset: int = 0


class CampaignsScreen(PagedScreen, SearchableScreen):
    PAGE_SIZE = PAGE
    QUERY_ATTR = "query_state"
    CLEARED = {"search": "", "status": None}
    BINDINGS = [
        Binding(
            "enter", "open", "Open", id="campaigns.open", tooltip="Recipients of this campaign"
        ),
        Binding("slash", "search", "Search", id="campaigns.search", tooltip="Search by name"),
        Binding("o", "cycle_sort", "Sort", id="campaigns.sort", tooltip="Sort by the next column"),
        Binding("O", "flip_sort", "Flip", show=False, id="campaigns.flip", tooltip="Reverse sort"),
        Binding(
            "0",
            "status_filter('all')",
            "All",
            show=False,
            id="campaigns.all",
            tooltip="Show every status",
        ),
        *(
            Binding(
                key,
                f"status_filter('{status}')",
                status.value.title(),
                show=False,
                id=f"campaigns.only_{status}",
                tooltip=f"Only {status} campaigns",
            )
            for key, status in STATUS_KEYS.items()
        ),
        Binding(
            "right_square_bracket",
            "next_page",
            "Next page",
            show=False,
            id="campaigns.next",
            tooltip="Next page of campaigns",
            key_display="]",
        ),
        Binding(
            "left_square_bracket",
            "prev_page",
            "Prev page",
            show=False,
            id="campaigns.prev",
            tooltip="Previous page of campaigns",
            key_display="[",
        ),
        Binding("n", "new", "New", id="campaigns.new", tooltip="Create a campaign"),
        Binding("e", "edit", "Edit", show=False, id="campaigns.edit", tooltip="Rename, template"),
        Binding(
            "t",
            "schedule",
            "Schedule",
            show=False,
            id="campaigns.schedule",
            tooltip="Schedule for a time",
        ),
        Binding("s", "lifecycle('start')", "Start", id="campaigns.start", tooltip="Start sending"),
        Binding("p", "lifecycle('pause')", "Pause", id="campaigns.pause", tooltip="Pause sending"),
        Binding(
            "r",
            "lifecycle('resume')",
            "Resume",
            show=False,
            id="campaigns.resume",
            tooltip="Resume a paused campaign",
        ),
        Binding(
            "c",
            "lifecycle('complete')",
            "Complete",
            show=False,
            id="campaigns.complete",
            tooltip="Mark completed",
        ),
        Binding(
            "X", "lifecycle('fail')", "Fail", show=False, id="campaigns.fail", tooltip="Mark failed"
        ),
        Binding(
            "u",
            "unschedule",
            "Unschedule",
            show=False,
            id="campaigns.unschedule",
            tooltip="Back to draft",
        ),
        Binding(
            "y",
            "duplicate",
            "Duplicate",
            show=False,
            id="campaigns.duplicate",
            tooltip="Copy as a new draft with the same recipients",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            show=False,
            id="campaigns.delete",
            tooltip="Delete with its recipients (asks first)",
        ),
        Binding(
            "a",
            "add_recipients",
            "Add recips",
            show=False,
            id="campaigns.add",
            tooltip="Add all leads or a CSV file",
        ),
        Binding(
            "R",
            "retry_failed",
            "Retry failed",
            show=False,
            id="campaigns.retry",
            tooltip="Failed recipients back to pending",
        ),
        Binding(
            "C",
            "recount",
            "Recount",
            show=False,
            id="campaigns.recount",
            tooltip="Recompute counters from recipient rows",
        ),
        Binding(
            "escape",
            "clear_filter",
            "Clear",
            show=False,
            id="campaigns.clear",
            tooltip="Clear search and status filter",
        ),
        Binding(
            "A",
            "analytics",
            "Analytics",
            show=False,
            id="campaigns.analytics",
            tooltip="Rates, human opens, links, bounces, activity",
        ),
        Binding(
            "x", "export", "Export", show=False, id="campaigns.export", tooltip="Export to a file"
        ),
        Binding("q", "app.quit", "Quit", id="campaigns.quit", tooltip="Quit Campaign Console"),
    ]

    class CampaignsFetched(Message):
        def __init__(self, query: CampaignQuery, rows: list[CampaignSummary], total: int, live):
            super().__init__()
            self.query, self.rows, self.total, self.live = query, rows, total, live

    class CampaignsChanged(Message):
        def __init__(self, rows: list[CampaignSummary]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self) -> None:
        super().__init__(id="campaigns-screen")
        self.query_state = CampaignQuery()
        self.summaries: dict[str, CampaignSummary] = {}
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="search campaign names", id="search", classes="filter")
        yield Static("", id="status-line", classes="status-line")
        yield ResponsiveTable(COLUMNS, id="campaigns")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.table.set_sort(*self._sort_indicator())
        self.table.focus()
        self.reload()

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#campaigns", ResponsiveTable)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in WRITE_ACTIONS)

    # -- reading ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.fetch(self.query_state)

    @work(thread=True, exclusive=True, exit_on_error=False, group="read")
    def fetch(self, query: CampaignQuery, live: bool = False) -> None:
        with self.db.reading() as session:
            rows = campaigns_core.list_campaigns(
                session,
                status=query.status,
                search=query.search or None,
                order_by=query.sort,
                descending=query.descending,
                limit=PAGE,
                offset=query.offset,
            )
            total = campaigns_core.count_campaigns(
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
            rows = campaigns_core.get_campaigns(session, ids)
        self.post_message(self.CampaignsChanged(rows))

    @on(CampaignsChanged)
    def show_changed(self, message: CampaignsChanged) -> None:
        tz = self.app.tz
        for c in message.rows:
            self.summaries[str(c.id)] = c
        self.table.update_rows([(str(c.id), self._cells(c, tz)) for c in message.rows])
        self.pacer.done()

    @on(CampaignsFetched)
    def show(self, message: CampaignsFetched) -> None:
        if message.live:
            self.pacer.done()
        if message.query != self.query_state:
            return  # an older query answered late
        self.total = message.total
        self.summaries = {str(c.id): c for c in message.rows}
        tz = self.app.tz
        self.table.show_rows(
            [(str(c.id), self._cells(c, tz)) for c in message.rows], flash=message.live
        )
        self._update_status_line(len(message.rows))

    @staticmethod
    def _cells(c: CampaignSummary, tz) -> dict[str, object]:
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
            parts.append(Text.assemble("name contains ", fmt.literal(q.search, "italic")))
        label = dict(SORTS)[q.sort]
        parts.append(Text(f"sorted by {label} {'▼' if q.descending else '▲'}"))
        if self.total:
            parts.append(Text(f"{q.offset + 1:,}-{q.offset + shown:,} of {self.total:,}"))
        else:
            parts.append(Text("no campaigns" + (" match" if q.search or q.status else " yet")))
        if self.read_only:
            parts.append(Text("read-only", style="bold yellow"))
        self.query_one("#status-line", Static).update(Text(" · ").join(parts))

    def _sort_indicator(self) -> tuple[str | None, bool]:
        q = self.query_state
        column = {"scheduled_at": "when", "started_at": "when", "created_at": None}.get(
            q.sort, q.sort
        )
        return column, q.descending

    def _set_query(self, **changes) -> None:
        from dataclasses import replace

        if "offset" not in changes:
            changes["offset"] = 0
        self.query_state = replace(self.query_state, **changes)
        self.table.set_sort(*self._sort_indicator())
        self.reload()

    # -- filtering and sorting -------------------------------------------------------------
    def filtered(self) -> bool:
        return bool(self.query_state.search or self.query_state.status)

    def action_clear_filter(self) -> None:
        self.clear_filters()

    def action_status_filter(self, status: str) -> None:
        self._set_query(status=None if status == "all" else CampaignStatus(status))

    def action_cycle_sort(self) -> None:
        keys = [k for k, _ in SORTS]
        nxt = keys[(keys.index(self.query_state.sort) + 1) % len(keys)]
        self._set_query(sort=nxt, descending=nxt in {"created_at"} or nxt.endswith("rate"))

    def action_flip_sort(self) -> None:
        self._set_query(descending=not self.query_state.descending)

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
            from tui.screens.recipients import RecipientsScreen

            self.drill_down(RecipientsScreen(campaign.id, campaign.name))

    def action_analytics(self) -> None:
        campaign = self.selected()
        if campaign:
            from tui.screens.analytics import AnalyticsScreen

            self.drill_down(AnalyticsScreen(campaign.id, campaign.name))

    def action_export(self) -> None:
        campaign = self.selected()
        if campaign:
            from tui.widgets.export_dialog import open_export

            open_export(self, campaign.id, campaign.campaign_id, campaign.name)

    # -- writes ----------------------------------------------------------------------------
    def action_new(self) -> None:
        def create(fields: CampaignFields | None) -> None:
            if fields:
                self.write(
                    lambda s: (
                        "Created "
                        + campaigns_core.create_campaign(
                            s, name=fields.name, template_id=fields.template_id
                        ).campaign_id
                    )
                )

        self.app.push_screen(CampaignForm("New campaign"), create)

    def action_edit(self) -> None:
        c = self.selected()
        if not c:
            return

        def edit(fields: CampaignFields | None) -> None:
            if fields:
                self.write(
                    lambda s: (
                        "Saved "
                        + campaigns_core.edit_campaign(
                            s, c.id, name=fields.name, template_id=fields.template_id
                        ).campaign_id
                    )
                )

        self.app.push_screen(CampaignForm(f"Edit {c.campaign_id}", c.name, c.template_id), edit)

    def action_schedule(self) -> None:
        c = self.selected()
        if not c:
            return
        default_at = c.scheduled_at or (self.app.now() + timedelta(hours=1)).replace(
            minute=0, second=0, microsecond=0
        )

        def schedule(at: datetime | None) -> None:
            if at:
                self.write(
                    lambda s: (
                        f"Scheduled {c.campaign_id} for "
                        + fmt.when(campaigns_core.schedule(s, c.id, at).scheduled_at, self.app.tz)
                    )
                )

        self.app.push_screen(
            ScheduleDialog(c.name, fmt.when(default_at, self.app.tz), self.app.tz), schedule
        )

    def action_unschedule(self) -> None:
        self.action_lifecycle("unschedule")

    def action_lifecycle(self, action: str) -> None:
        c = self.selected()
        if c:
            self.write(
                lambda s: (
                    f"{c.campaign_id} is now "
                    + campaigns_core.transition(s, c.id, action).status.value
                )
            )

    def action_duplicate(self) -> None:
        c = self.selected()
        if c:
            self.write(
                lambda s: "Copied to " + campaigns_core.duplicate_campaign(s, c.id).campaign_id
            )

    def action_delete(self) -> None:
        c = self.selected()
        if not c:
            return
        question = Text.assemble(
            "Delete campaign ",
            fmt.literal(c.name, "bold"),
            f" ({c.campaign_id}) and its {c.total_recipients:,} recipients",
            " with all their events? This can't be undone.",
        )

        def delete(yes: bool | None) -> None:
            if yes:
                self.write(
                    lambda s: (
                        f"Deleted {c.campaign_id} and "
                        f"{campaigns_core.delete_campaign(s, c.id):,} recipients"
                    )
                )

        self.app.push_screen(ConfirmDialog(question), delete)

    def action_add_recipients(self) -> None:
        c = self.selected()
        if not c:
            return

        def add(choice: tuple[str, str] | None) -> None:
            if not choice:
                return
            kind, path = choice
            if kind == "all":
                self.write(lambda s: _added_text(recipients.add_leads(s, c.id)))
            else:
                self.write(lambda s: _imported_text(recipients.import_csv(s, c.id, path)))

        self.app.push_screen(AddRecipientsDialog(c.name), add)

    def action_retry_failed(self) -> None:
        c = self.selected()
        if c:
            self.write(
                lambda s: (
                    f"{recipients.retry_failed(s, c.id):,} failed recipients of "
                    f"{c.campaign_id} back to pending"
                )
            )

    def action_recount(self) -> None:
        c = self.selected()
        if c:
            self.write(lambda s: _recount_text(counters.recount(s, c.id), c.campaign_id))


def _added_text(result) -> str:
    text = f"Added {result.added:,} recipients"
    if result.skipped_duplicates:
        text += f"; {result.skipped_duplicates:,} were already in the campaign"
    if result.skipped_suppressed:
        text += f"; {result.skipped_suppressed:,} suppressed (bounced, complained, unsubscribed)"
    return text


def _imported_text(result) -> str:
    text = f"Imported {result.added:,} recipients ({result.created_leads:,} new leads)"
    if result.skipped_duplicates:
        text += f"; {result.skipped_duplicates:,} already there"
    if result.skipped_suppressed:
        text += f"; {result.skipped_suppressed:,} suppressed"
    if result.errors:
        first = result.errors[0]
        text += f"; {len(result.errors):,} bad lines (line {first.line}: {first.reason})"
    return text


def _recount_text(drifts, campaign_id: str) -> str:
    if not drifts:
        return f"Counters of {campaign_id} were right; nothing to repair"
    fixed = ", ".join(f"{d.counter} {d.stored:,}→{d.actual:,}" for d in drifts)
    return f"Repaired {campaign_id}: {fixed}"
