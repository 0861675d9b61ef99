"""The suppression list: addresses not to mail again and why; search, page, lift (asks first)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Header, Input, Static

from core import recipients
from core.recipients import SuppressionRow
from tui import format as fmt
from tui.screens.shared.base import SearchableScreen
from tui.screens.shared.navigation import PagedScreen
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable

PAGE = 100
COLUMNS = (
    Column("email_address", "Email", 20, priority=0, flex=True),
    Column("reason", "Reason", 11, priority=0),
    Column("created_at", "Listed", 11, priority=1),
    Column("campaign", "Campaign", 14, priority=2),
    Column("source_event_id", "Event", 9, priority=3, right=True),
)
REASON_STYLES = {"hard_bounce": "red", "complaint": "bold red", "unsubscribe": "magenta"}


@dataclass(frozen=True)
class ListQuery:
    search: str = ""
    after_id: int | None = None
    page: int = 0
    offset: int = 0  # rows skipped from the first ("go to row"), without after_id


class SuppressionsScreen(PagedScreen, SearchableScreen):
    QUERY_ATTR = "list_query"
    READS = "suppressions"
    WRITE_ACTIONS = frozenset({"lift"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "back", "Back", id="suppressions.back", tooltip="Clear the search, else back"
        ),
        Binding("slash", "search", "Search", id="suppressions.search", tooltip="Search addresses"),
        Binding(
            "d",
            "lift",
            "Lift",
            id="suppressions.lift",
            tooltip="Take this address off the list (asks first)",
        ),
        Binding(
            "right_square_bracket",
            "next_page",
            "Next",
            id="suppressions.next",
            tooltip="Next page",
            key_display="]",
        ),
        Binding(
            "left_square_bracket",
            "prev_page",
            "Prev",
            id="suppressions.prev",
            tooltip="Previous page",
            key_display="[",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            show=False,
            id="suppressions.refresh",
            tooltip="Fetch the list again",
        ),
    ]

    @dataclass
    class SuppressionsFetched(Message):
        query: ListQuery
        rows: tuple[SuppressionRow, ...]
        total: int

    def __init__(self) -> None:
        super().__init__()
        self.list_query = ListQuery()
        self.rows: dict[str, SuppressionRow] = {}
        self.page_starts: list[int | None] = []  # after_id of each earlier page
        self.total: int | None = None
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="search addresses", id="search", classes="filter")
        yield Static("", id="status-line", classes="status-line")
        yield ResponsiveTable(COLUMNS, id="suppressions")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "suppression list"
        self.query_one("#search").display = False
        self.table.focus()
        self.reload()

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#suppressions", ResponsiveTable)

    # -- reading ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.fetch(self.list_query)

    def action_refresh(self) -> None:
        self.reload()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        # The database lists addresses as events arrive: any change may have added some.
        self.fetch(self.list_query, live=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="read")
    def fetch(self, query: ListQuery, live: bool = False) -> None:
        with self.db.reading() as session:
            rows = recipients.list_suppressions(
                session,
                search=query.search or None,
                limit=PAGE,
                after_id=query.after_id,
                offset=query.offset,
            )
            total = recipients.count_suppressions(session, search=query.search or None)
        self.post_message(self.SuppressionsFetched(query, rows, total))

    @on(SuppressionsFetched)
    def show(self, message: SuppressionsFetched) -> None:
        if self.pacer.running:
            self.pacer.done()
        if message.query != self.list_query:
            return
        tz = self.console.tz
        self.total = message.total
        self.shown = len(message.rows)
        self.rows = {str(r.id): r for r in message.rows}
        self.table.show_rows(
            [
                (
                    str(r.id),
                    {
                        "email_address": fmt.literal(r.email_address),
                        "reason": Text(str(r.reason), style=REASON_STYLES.get(str(r.reason), "")),
                        "created_at": fmt.short_when(r.created_at, tz),
                        "campaign": fmt.literal(r.campaign or ""),
                        "source_event_id": ""
                        if r.source_event_id is None
                        else str(r.source_event_id),
                    },
                )
                for r in message.rows
            ]
        )
        self._update_status_line()

    def _update_status_line(self) -> None:
        q = self.list_query
        first = q.page * PAGE + 1
        if self.shown:
            of = f" of {self.total:,}" if self.total is not None else ""
            head = Text(f"rows {first:,}-{first + self.shown - 1:,}{of}", style="bold")
        else:
            head = Text("no addresses" + (" match" if q.search else " are suppressed"), "bold")
        parts = [head]
        if q.search:
            parts.append(Text.assemble("address contains ", fmt.literal(q.search, "italic")))
        if self.read_only:
            parts.append(Text("read-only", style="bold yellow"))
        self.query_one("#status-line", Static).update(Text(" · ").join(parts))

    # -- navigation ------------------------------------------------------------------------
    def _set_query(self, **changes) -> None:
        changes.setdefault("after_id", None)
        changes.setdefault("page", 0)
        changes.setdefault("offset", 0)
        if changes["page"] == 0:
            self.page_starts = []
        self.list_query = replace(self.list_query, **changes)
        self.reload()

    def action_next_page(self) -> None:
        if self.shown == PAGE and self.rows:
            last = max(int(k) for k in self.rows)
            self.page_starts.append(self.list_query.after_id)
            self._set_query(
                search=self.list_query.search, after_id=last, page=self.list_query.page + 1
            )

    def action_prev_page(self) -> None:
        if self.page_starts:
            after = self.page_starts.pop()
            q = self.list_query
            self.list_query = replace(q, after_id=after, page=q.page - 1)
            self.reload()
        elif self.list_query.page > 0:  # after "go to": the page before by its offset
            page = self.list_query.page - 1
            self._set_query(page=page, offset=page * PAGE)

    def action_first_page(self) -> None:
        self._set_query()

    def action_last_page(self) -> None:
        if self.total:
            self.show_row(self.total - 1)

    def show_row(self, row: int) -> None:
        if self.total is not None:
            row = max(min(row, self.total - 1), 0)
        start = self.page_start(row)
        if not self.arrive(row, start, self.list_query.page * PAGE if self.shown else None):
            self.page_starts = []
            self.list_query = replace(
                self.list_query, after_id=None, page=start // PAGE, offset=start
            )
            self.reload()

    def copy_value(self) -> str | None:
        key = self.table.current_key()
        row = self.rows.get(key) if key else None
        return row.email_address if row else None

    def filtered(self) -> bool:
        return bool(self.list_query.search)

    def action_back(self) -> None:
        if not self.clear_filters():
            self.go_back()

    # -- lifting ---------------------------------------------------------------------------
    def action_lift(self) -> None:
        key = self.table.current_key()
        row = self.rows.get(key) if key else None
        if row is None:
            self.notify("No address selected.", severity="warning")
            return
        email = row.email_address
        question = Text.assemble(
            "Lift the suppression of ",
            fmt.literal(email, "bold"),
            f" ({row.reason})? It can be mailed again. Its next hard bounce, complaint",
            " or unsubscribe puts it back on the list.",
        )

        def lift(yes: bool | None) -> None:
            if yes:
                self.write(
                    lambda s: (
                        f"Lifted the suppression of {email}"
                        if recipients.lift(s, email)
                        else f"{email} was not on the list any more"
                    )
                )

        self.app.push_screen(ConfirmDialog(question, confirm_label="Lift"), lift)
