"""Home: every campaign with status, recipients, sent and the four rates; the lifecycle by key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Static

from core import campaigns, figures, recipients
from core import recipients as recipients_core
from core.campaigns import CampaignSummary
from core.local_time import zone_label
from core.store import CampaignStatus
from tui import format as fmt
from tui.screens.base import WriteFinished
from tui.screens.navigation import PagedScreen
from tui.screens.sorting import Sort, SortableScreen
from tui.widgets.dialogs import (
    AddRecipientsDialog,
    CampaignFields,
    CampaignForm,
    ConfirmDialog,
    ReportDialog,
    ScheduleDialog,
)
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable

PAGE = 200
STATUS_KEYS = {str(i + 1): status for i, status in enumerate(CampaignStatus)}
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

# action name -> (key, footer label, lifecycle action or None)
LIFECYCLE = {
    "start": "start",
    "pause": "pause",
    "resume": "resume",
    "complete": "complete",
    "fail": "fail",
}
WRITE_ACTIONS = frozenset(
    {
        "new",
        "edit",
        "schedule",
        "duplicate",
        "delete",
        "add_recipients",
        "retry_failed",
        "recount",
        "unschedule",
        "lifecycle",
        "resume_paused",
    }
)
# Moves that can't be undone, or that send mail: each asks first, with what it will do.
CONFIRMED = ("start", "complete", "fail")


@dataclass(frozen=True)
class CampaignQuery:
    status: CampaignStatus | None = None
    search: str = ""
    sort: str = "created_at"
    descending: bool = True
    offset: int = 0


class CampaignsScreen(PagedScreen, SortableScreen):
    READS = "campaigns"
    PAGE_SIZE = PAGE
    QUERY_ATTR = "query_state"
    CLEARED = {"search": "", "status": None}
    WRITE_ACTIONS = WRITE_ACTIONS
    SORTS = SORTS
    STATE_NAME = "campaigns"
    BINDINGS = [
        Binding(
            "enter", "open", "Open", id="campaigns.open", tooltip="Recipients of this campaign"
        ),
        Binding(
            "slash",
            "search",
            "Search",
            id="campaigns.search",
            tooltip="Search by part of the name or the start of the id",
        ),
        Binding("o", "pick_sort", "Sort", id="campaigns.sort", tooltip="Pick the sort"),
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
        Binding(
            "s", "lifecycle('start')", "Start", id="campaigns.start", tooltip="Start sending (asks)"
        ),
        # On a paused campaign `s` resumes, and the footer says so (check_action picks one).
        Binding(
            "s",
            "resume_paused",
            "Resume",
            id="campaigns.start_resumes",
            tooltip="Resume sending this paused campaign",
        ),
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
            tooltip="Mark completed, final (asks)",
        ),
        Binding(
            "X",
            "lifecycle('fail')",
            "Fail",
            show=False,
            id="campaigns.fail",
            tooltip="Mark failed, final (asks)",
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
            tooltip="Copy as a new draft with the same recipients, suppressed left out",
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
        tz = self.app.tz
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
        tz = self.app.tz
        self.table.show_rows(
            [(str(c.id), self._cells(c, tz)) for c in message.rows], flash=message.live
        )
        if self.select_after_reload in self.summaries:
            self.table.select_key(self.select_after_reload)
        self.select_after_reload = None
        self._update_status_line(len(message.rows))
        self.refresh_bindings()

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
        from dataclasses import replace

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
    def _saved(self, result: str | tuple[str, str] | None) -> None:
        """A form closed: say what it saved (None: cancelled); a (text, row key) pair also
        puts the cursor on that row once the rows are read again."""
        if result:
            text, select = result if isinstance(result, tuple) else (result, None)
            self.post_message(WriteFinished(text, select))

    def action_new(self) -> None:
        self.app.push_screen(CampaignForm("New campaign", save=_created), self._saved)

    def action_edit(self) -> None:
        c = self.selected()
        if not c:
            return

        def edit(session, fields: CampaignFields) -> str:
            return (
                "Saved "
                + campaigns.edit_campaign(
                    session, c.id, name=fields.name, template_id=fields.template_id
                ).campaign_id
            )

        form = CampaignForm(f"Edit {c.campaign_id}", c.name, c.template_id, save=edit)
        self.app.push_screen(form, self._saved)

    def action_schedule(self) -> None:
        c = self.selected()
        if not c:
            return
        now, tz = self.app.now(), self.app.tz
        default_at = c.scheduled_at or (now + timedelta(hours=1)).replace(
            minute=0, second=0, microsecond=0
        )

        def schedule(session, at: datetime) -> str:
            when = campaigns.schedule(session, c.id, at, now=self.app.now()).scheduled_at
            return f"Scheduled {c.campaign_id} for {fmt.when(when, tz)} ({zone_label(tz, when)})"

        dialog = ScheduleDialog(c.name, fmt.when(default_at, tz), tz, now, save=schedule)
        self.app.push_screen(dialog, self._saved)

    def action_unschedule(self) -> None:
        self.action_lifecycle("unschedule")

    def action_resume_paused(self) -> None:
        self.action_lifecycle("resume")

    def action_lifecycle(self, action: str) -> None:
        c = self.selected()
        if not c:
            return
        if action in CONFIRMED and action in campaigns.ALLOWED_MOVES[c.status]:
            self.ask_to_move(c.id, action)  # a move the status doesn't allow: core says why
        else:
            self._move(c.id, c.campaign_id, action)

    def _move(self, pk: int, campaign_id: str, action: str) -> None:
        def move(session) -> str:
            return f"{campaign_id} is now {campaigns.transition(session, pk, action).status}"

        self.write(move)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ask")
    def ask_to_move(self, pk: int, action: str) -> None:
        with self.db.reading() as session:
            preview = campaigns.move_preview(session, pk, action)
        self.app.call_from_thread(self._confirm_move, preview)

    def _confirm_move(self, preview: campaigns.MovePreview) -> None:
        c = preview.campaign
        if preview.action == "start" and not c.total_recipients:
            self._move(c.id, c.campaign_id, "start")  # nothing to ask: core refuses, says why
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._move(c.id, c.campaign_id, preview.action)

        label = {"start": "Start", "complete": "Complete", "fail": "Fail"}[preview.action]
        dialog = ConfirmDialog(move_question(preview), confirm_label=label, focus_confirm=True)
        self.app.push_screen(dialog, answered)

    def action_duplicate(self) -> None:
        c = self.selected()
        if c:
            self.write(lambda s: recipients_core.duplicate_campaign(s, c.id).describe())

    def action_delete(self) -> None:
        c = self.selected()
        if not c:
            return
        question = Text.assemble(
            "Delete campaign ",
            fmt.literal(c.name, "bold"),
            f" ({c.campaign_id}) and its {fmt.plural(c.total_recipients, 'recipient')}",
            " with all their events? This can't be undone.",
        )

        def delete(yes: bool | None) -> None:
            if yes:
                self.write(
                    lambda s: (
                        f"Deleted {c.campaign_id} and "
                        + fmt.plural(campaigns.delete_campaign(s, c.id), "recipient")
                    )
                )

        self.app.push_screen(ConfirmDialog(question), delete)

    def action_add_recipients(self) -> None:
        c = self.selected()
        if not c:
            return

        def add(session, choice: tuple[str, str]) -> tuple[str, list[str]]:
            kind, path = choice
            if kind == "all":
                return _added_text(recipients.add_leads(session, c.id)), []
            result = recipients.import_csv(session, c.id, path)
            return _imported_text(result), _refused_lines(result)

        def added(outcome: tuple[str, list[str]] | None) -> None:
            if outcome is None:
                return
            text, refused = outcome
            self._saved(text)
            if refused:
                title = Text.assemble("Imported into ", fmt.literal(c.name, "bold"))
                heading = "Refused, by line number (nothing of these was imported):"
                self.app.push_screen(ReportDialog(title, text, heading, refused))

        self.app.push_screen(AddRecipientsDialog(c.name, save=add), added)

    def action_retry_failed(self) -> None:
        c = self.selected()
        if c:
            self.write(
                lambda s: (
                    f"{fmt.plural(recipients.retry_failed(s, c.id), 'failed recipient')} of "
                    f"{c.campaign_id} back to pending"
                )
            )

    def action_recount(self) -> None:
        c = self.selected()
        if c:
            self.write(lambda s: _recount_text(figures.recount(s, c.id), c.campaign_id))


def move_question(preview: campaigns.MovePreview) -> Text:
    """What a confirmed move will do, with the campaign's id and name."""
    c, action = preview.campaign, preview.action
    who = Text.assemble(fmt.literal(c.campaign_id, "bold"), " '", fmt.literal(c.name), "'")
    unsent = (
        f"{_recipients(preview.not_sent)} not yet sent will never be."
        if preview.not_sent
        else "Every recipient was sent."
    )
    if action == "start":
        return Text.assemble(
            "Start ",
            who,
            f": send to {_recipients(preview.pending)}? Suppressed addresses are skipped.\n\n",
            "Nothing in this program sends mail yet: run ",
            Text(f"campaigns simulate {c.campaign_id}", style="bold"),
            " to simulate a sender (the background simulator runs the demo's campaigns only).",
        )
    verb = "Complete " if action == "complete" else "Fail "
    stop = "" if action == "complete" else " Sending stops for good."
    return Text.assemble(verb, who, f":{stop} {unsent} This can't be undone.")


def _recipients(n: int) -> str:
    return f"{n:,} recipient" + ("" if n == 1 else "s")


def _created(session, fields: CampaignFields) -> tuple[str, str]:
    """Create the campaign; the notification, and its row key to select once it is listed."""
    c = campaigns.create_campaign(session, name=fields.name, template_id=fields.template_id)
    return f"Created {c.campaign_id}", str(c.id)


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
        text += f"; {len(result.errors):,} lines refused"
    return text


def _refused_lines(result) -> list[str]:
    """Every line of the file that was not imported, as the CLI lists them."""
    return [f"line {e.line}: {e.reason}: {e.value!r}" for e in result.errors]


def _recount_text(drifts, campaign_id: str) -> str:
    if not drifts:
        return f"Counters of {campaign_id} were right; nothing to repair"
    fixed = ", ".join(f"{d.counter} {d.stored:,}→{d.actual:,}" for d in drifts)
    return f"Repaired {campaign_id}: {fixed}"
