"""One campaign: its stats on top, its recipients a page at a time from the database (keyset)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.reactive import var
from textual.widgets import DataTable, Header, Input, Static

from core import campaigns, recipients
from core.campaigns import CampaignSummary, SendingState
from core.recipients import PageCursor, RecipientPage, RecipientRow
from core.store import RecipientStatus
from tui import format as fmt
from tui.messages import OpenAnalytics, OpenTimeline
from tui.screens.recipients.keys import BINDINGS
from tui.screens.recipients.table import COLUMNS, SORTS, SUPPRESSED_MARK, row_cells
from tui.screens.shared.navigation import PagedScreen
from tui.screens.shared.sorting import SortableScreen
from tui.widgets.campaign_header import campaign_header, progress_line, sending_line
from tui.widgets.export_dialog import open_export
from tui.widgets.footer import Footer
from tui.widgets.table import ResponsiveTable
from tui.widgets.trial_dialog import open_test_message

PAGE = 100


@dataclass(frozen=True)
class PageQuery:
    status: RecipientStatus | None = None
    search: str = ""
    unopened: bool = False
    sort: str = "id"
    descending: bool = False
    after: PageCursor | None = None
    before: PageCursor | None = None
    skip: int = 0  # from the first row: "go to row"
    from_end: bool = False  # the last page
    offset: int = 0  # 0-based row of the page's first row, for "rows 2,001-2,100"

    def filtered(self) -> bool:
        return bool(self.status or self.search or self.unopened)


class RecipientsScreen(PagedScreen, SortableScreen):
    READS = "recipients"
    CLEARED = {"search": "", "status": None, "unopened": False}
    SORTS = SORTS
    STATE_NAME = "recipients"
    BINDINGS = BINDINGS

    @dataclass
    class PageFetched(Message):
        query: PageQuery
        page: RecipientPage
        suppressed: frozenset[int]
        first_row: int  # 0-based row of the page's first row

    @dataclass
    class StatsFetched(Message):
        stats: CampaignSummary
        idle: bool = False  # running, yet nothing is sending it (core.campaigns.sending)
        sending: SendingState | None = None  # the senders at work on it

    @dataclass
    class CountFetched(Message):
        query: PageQuery
        total: int

    # What the status line says follows these (watch_ methods below); `var`, not `reactive`:
    # a change repaints the status line alone, not the whole screen.
    page_query: var[PageQuery] = var(PageQuery(), init=False)
    stats: var[CampaignSummary | None] = var(None, init=False)
    # Set for every page read, equal or not: the suppressed marks may have changed.
    current_page: var[RecipientPage | None] = var(None, init=False, always_update=True)
    filtered_total: var[int | None] = var(None, init=False)  # None: not counted yet

    def __init__(self, campaign_pk: int, campaign_name: str = "") -> None:
        super().__init__()
        self.campaign_pk = campaign_pk
        self.campaign_name = campaign_name
        sort, descending = self.remembered_sort(("id", False))
        self.set_reactive(RecipientsScreen.page_query, PageQuery(sort=sort, descending=descending))
        self._live = False  # the page being read was asked for by a live refresh
        self._shown_first_row: int | None = None
        self.rows_by_key: dict[str, RecipientRow] = {}
        self.suppressed: frozenset[int] = frozenset()  # recipient ids of the page shown
        self.first_row = 0  # of the page shown

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("loading…"), id="stats", classes="header-stats")
        yield Input(placeholder="search email addresses", id="search", classes="filter")
        yield Static("", id="status-line", classes="status-line")
        yield ResponsiveTable(COLUMNS, id="recipients")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.campaign_name
        self.query_one("#search").display = False
        self.table.set_sort(self.sort_column(), self.page_query.descending)
        self.table.focus()
        self.reload()

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#recipients", ResponsiveTable)

    # -- reading ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.fetch_stats()
        self._fetch_page_and_count()

    def _fetch_page_and_count(self) -> None:
        """The page and, when filtered, its count: read together so "rows 1-42 of 36" can't
        stay on screen after the filtered rows changed."""
        self.fetch_page(self.page_query)
        if self.page_query.filtered():
            self.fetch_count(self.page_query)

    def action_refresh(self) -> None:
        self.reload()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        if resync or self.campaign_pk in campaign_ids:
            self._live = True
            self.fetch_stats()
            self._fetch_page_and_count()
        else:
            self.pacer.done()

    @work(thread=True, exclusive=True, exit_on_error=False, group="stats")
    def fetch_stats(self) -> None:
        # The header needs only the counters: one indexed row, whatever the campaign's size.
        with self.db.reading() as session:
            summary = campaigns.get_campaign(session, self.campaign_pk)
            sending = campaigns.sending_state(session, self.campaign_pk)  # four index probes
        self.post_message(self.StatsFetched(summary, sending.idle, sending))

    @work(thread=True, exclusive=True, exit_on_error=False, group="page")
    def fetch_page(self, query: PageQuery) -> None:
        with self.db.reading() as session:
            page = recipients.recipients_page(
                session,
                self.campaign_pk,
                status=query.status,
                search=query.search or None,
                unopened=query.unopened,
                sort=query.sort,
                descending=query.descending,
                after=query.after,
                before=query.before,
                skip=query.skip,
                from_end=query.from_end,
                limit=PAGE,
            )
            # One indexed query for the page's ids: which addresses are suppressed.
            ids = [r.id for r in page.rows]
            suppressed = recipients.suppressed_in_campaign(session, self.campaign_pk, ids)
            first_row = query.offset
            if query.from_end:  # the counter when unfiltered, else one COUNT
                total = self._count(session, query)
                first_row = max(total - len(page.rows), 0)
        self.post_message(self.PageFetched(query, page, frozenset(suppressed), first_row))

    @work(thread=True, exclusive=True, exit_on_error=False, group="count")
    def fetch_count(self, query: PageQuery) -> None:
        with self.db.reading() as session:
            total = self._count(session, query)
        self.post_message(self.CountFetched(query, total))

    def _count(self, session, query: PageQuery) -> int:  # session: a core reading() one
        """The recipients the query's filters match (one COUNT; the counter when none)."""
        return recipients.count_recipients(
            session,
            self.campaign_pk,
            status=query.status,
            search=query.search or None,
            unopened=query.unopened,
        )

    @on(StatsFetched)
    def show_stats(self, message: StatsFetched) -> None:
        self.stats = message.stats
        self.sub_title = message.stats.name
        header = campaign_header(message.stats, self.console.tz)
        lines = [
            progress_line(message.stats, message.sending),
            sending_line(message.stats, message.sending, self.console.tz),
        ]
        header = Text("\n").join([header, *(line for line in lines if line is not None)])
        self.query_one("#stats", Static).update(header)

    @on(PageFetched)
    def show_page(self, message: PageFetched) -> None:
        live, self._live = self._live, False
        if live:
            self.pacer.done()
        if message.query != self.page_query:
            return
        page = message.page
        self.suppressed = message.suppressed
        self.first_row = message.first_row
        tz = self.console.tz
        self.rows_by_key = {str(r.id): r for r in page.rows}
        self.table.show_rows(
            [(str(r.id), row_cells(r, r.id in message.suppressed, tz)) for r in page.rows],
            keep_cursor=message.first_row == self._shown_first_row,
            flash=live,
        )
        self._shown_first_row = message.first_row
        self.current_page = page

    @on(CountFetched)
    def show_count(self, message: CountFetched) -> None:
        if message.query.filtered() and (
            message.query.status,
            message.query.search,
            message.query.unopened,
        ) == (self.page_query.status, self.page_query.search, self.page_query.unopened):
            self.filtered_total = message.total

    def total(self) -> int | None:
        if self.page_query.filtered():
            return self.filtered_total
        return self.stats.total_recipients if self.stats else None

    def watch_page_query(self) -> None:
        self._update_status_line()

    def watch_stats(self) -> None:
        self._update_status_line()

    def watch_current_page(self) -> None:
        self._update_status_line()

    def watch_filtered_total(self) -> None:
        self._update_status_line()

    def _update_status_line(self) -> None:
        if not self.is_mounted:
            return
        q = self.page_query
        parts = []
        shown = len(self.current_page.rows) if self.current_page else 0
        total = self.total()
        first = self.first_row + 1
        if shown:
            of = f" of {total:,}" if total is not None else ""
            parts.append(Text(f"rows {first:,}-{first + shown - 1:,}{of}", style="bold"))
        else:
            parts.append(Text("no recipients" + (" match" if q.filtered() else ""), style="bold"))
        filters = []
        if q.status:
            filters.append(Text(q.status.value))
        if q.unopened:
            filters.append(Text("unopened"))
        if q.search:
            filters.append(Text.assemble("email contains ", fmt.literal(q.search, "italic")))
        if filters:
            parts.append(Text(", ").join(filters))
        page_ids = {r.id for r in self.current_page.rows} if self.current_page else set()
        on_page = len(self.suppressed & page_ids)
        if on_page:
            parts.append(
                Text(f"{SUPPRESSED_MARK} {on_page:,} suppressed on this page", style="red")
            )
        label = self.sort_named(q.sort).label
        parts.append(Text(f"sorted by {label} {'▼' if q.descending else '▲'}"))
        self.query_one("#status-line", Static).update(Text(" · ").join(parts))

    def action_analytics(self) -> None:
        self.drill_down(OpenAnalytics(self, self.campaign_pk, self.campaign_name))

    def action_export(self) -> None:
        campaign_id = self.stats.campaign_id if self.stats else str(self.campaign_pk)
        open_export(self, self.campaign_pk, campaign_id, self.campaign_name)

    def action_test_message(self) -> None:
        open_test_message(self, self.campaign_pk, self.campaign_name)

    # -- navigation ------------------------------------------------------------------------
    def _set_query(self, **changes) -> None:
        refilter = any(k in changes for k in ("status", "search", "unopened"))
        changes.setdefault("after", None)
        changes.setdefault("before", None)
        changes.setdefault("skip", 0)
        changes.setdefault("from_end", False)
        changes.setdefault("offset", 0)
        self.page_query = replace(self.page_query, **changes)
        self.table.set_sort(self.sort_column(), self.page_query.descending)
        self.fetch_page(self.page_query)
        if refilter:
            self.filtered_total = None
            if self.page_query.filtered():
                self.fetch_count(self.page_query)

    def action_next_page(self) -> None:
        page = self.current_page
        if page and page.has_next:
            self._set_query(after=page.last_cursor, offset=self.first_row + len(page.rows))

    def action_prev_page(self) -> None:
        page = self.current_page
        if page and self.first_row > 0:
            self._set_query(before=page.first_cursor, offset=max(self.first_row - PAGE, 0))

    def action_first_page(self) -> None:
        self._set_query()

    def action_last_page(self) -> None:
        self._set_query(from_end=True)

    def show_row(self, row: int) -> None:
        total = self.total()
        if total is not None:
            row = max(min(row, total - 1), 0)
        start = self.page_start(row)
        if not self.arrive(row, start, self.first_row if self.current_page else None):
            self._set_query(skip=start, offset=start)

    def copy_value(self) -> str | None:
        key = self.table.current_key()
        row = self.rows_by_key.get(key) if key else None
        return row.email_address if row else None

    def action_toggle_unopened(self) -> None:
        self._set_query(unopened=not self.page_query.unopened)

    def action_status_filter(self, status: str) -> None:
        self._set_query(status=None if status == "all" else RecipientStatus(status))

    def current_sort(self) -> tuple[str, bool]:
        return self.page_query.sort, self.page_query.descending

    def apply_sort(self, key: str, descending: bool) -> None:
        self._set_query(sort=key, descending=descending)

    def filtered(self) -> bool:
        return self.page_query.filtered()

    def action_back(self) -> None:
        if not self.clear_filters():
            self.go_back()

    @on(DataTable.RowSelected, "#recipients")
    def action_open(self) -> None:
        if not self.on_top():
            return  # a burst of keys: this screen was closed meanwhile
        key = self.table.current_key()
        if key is None:
            return
        self.drill_down(OpenTimeline(self, int(key)))
