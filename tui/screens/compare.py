"""Two campaigns side by side (every figure, with the difference), and the dialog that picks
the second one by name or campaign id."""

from __future__ import annotations

import contextlib

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Label, Static
from textual.worker import Worker, WorkerState

from core import analytics
from core import campaigns as campaigns_core
from core.analytics import CampaignStats
from core.campaign_report import Difference, compare
from core.campaigns import CampaignSummary
from core.errors import NotFound
from tui import format as fmt
from tui.screens.base import DataScreen
from tui.widgets.dialogs import Dialog
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable

PICK_LIMIT = 50
PICK_COLUMNS = (
    Column("name", "Name", 16, priority=0, flex=True),
    Column("campaign_id", "Campaign id", 13, priority=1),
    Column("status", "Status", 9, priority=0),
    Column("emails_sent", "Sent", 8, priority=2, right=True),
)
COMPARE_COLUMNS = (
    Column("label", "Figure", 19, priority=0),
    Column("a", "A", 11, priority=0, right=True),
    Column("b", "B", 11, priority=0, right=True),
    Column("change", "B - A", 11, priority=0, right=True),
)


def value_text(kind: str, value: float) -> str:
    return f"{value:.1f}%" if kind == "rate" else f"{int(value):,}"


def change_text(d: Difference) -> Text:
    """The difference B - A: percentage points for rates; dim when there is none."""
    change = d.change
    if d.kind == "rate":
        text = f"{change:+.1f} pp"
        zero = text in ("+0.0 pp", "-0.0 pp")
        text = "0.0 pp" if zero else text
    else:
        zero = change == 0
        text = "0" if zero else f"{int(change):+,}"
    return Text(text, style="dim" if zero else "bold", justify="right")


def compare_rows(a: CampaignStats, b: CampaignStats) -> list[tuple[str, dict]]:
    return [
        (
            d.key,
            {
                "label": d.label,
                "a": value_text(d.kind, d.a),
                "b": value_text(d.kind, d.b),
                "change": change_text(d),
            },
        )
        for d in compare(a, b)
    ]


class CompareScreen(DataScreen):
    DEFAULT_CSS = """
    CompareScreen #compare-table {
        height: 1fr;
    }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="compare.back", tooltip="Back"),
        Binding("c", "pick", "Other B", id="compare.pick", tooltip="Compare with another campaign"),
        Binding("s", "swap", "Swap", id="compare.swap", tooltip="Swap A and B"),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            show=False,
            id="compare.refresh",
            tooltip="Fetch both again",
        ),
    ]

    class StatsCompared(Message):
        def __init__(self, pair: tuple[int, int], a: CampaignStats, b: CampaignStats, live):
            super().__init__()
            self.pair, self.a, self.b, self.live = pair, a, b, live

    def __init__(self, a_pk: int, b_pk: int) -> None:
        super().__init__()
        self.pair = (a_pk, b_pk)
        self.stats: tuple[CampaignStats, CampaignStats] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("loading…"), id="compare-header", classes="header-stats")
        yield ResponsiveTable(COMPARE_COLUMNS, id="compare-table")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "compare"
        self.query_one("#compare-table").focus()
        self.reload()

    def reload(self) -> None:
        self.fetch(self.pair)

    def action_refresh(self) -> None:
        self.reload()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        if resync or campaign_ids & set(self.pair):
            self.fetch(self.pair, live=True)
        else:
            self.pacer.done()

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def fetch(self, pair: tuple[int, int], live: bool = False) -> None:
        with self.db.reading() as session:
            a = analytics.campaign_stats(session, pair[0])
            b = analytics.campaign_stats(session, pair[1])
        self.post_message(self.StatsCompared(pair, a, b, live))

    @on(StatsCompared)
    def show(self, message: StatsCompared) -> None:
        if message.live:
            self.pacer.done()
        if message.pair != self.pair:
            return
        a, b = self.stats = (message.a, message.b)
        lines = [
            Text.assemble(
                (f"{side} ", "bold reverse"),
                " ",
                fmt.literal(s.campaign_id, "bold"),
                "  ",
                fmt.status(s.status),
                "  ",
                fmt.literal(s.name),
            )
            for side, s in (("A", a), ("B", b))
        ]
        self.query_one("#compare-header", Static).update(Text("\n").join(lines))
        self.query_one("#compare-table", ResponsiveTable).show_rows(compare_rows(a, b))

    def action_swap(self) -> None:
        self.pair = (self.pair[1], self.pair[0])
        self.reload()

    def action_pick(self) -> None:
        def chosen(other: CampaignSummary | None) -> None:
            if other is not None:
                self.pair = (self.pair[0], other.id)
                self.reload()

        self.app.push_screen(CampaignPicker(exclude=self.pair[0]), chosen)


class CampaignPicker(Dialog):
    """Pick a campaign: type part of its name (or its campaign id), arrows, Enter."""

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
        Binding("down", "move(1)", "Down", show=False, id="picker.down", tooltip="Next"),
        Binding("up", "move(-1)", "Up", show=False, id="picker.up", tooltip="Previous"),
    ]

    class CampaignsFound(Message):
        def __init__(self, search: str, found: list[CampaignSummary]) -> None:
            super().__init__()
            self.search, self.found = search, found

    def __init__(self, *, exclude: int | None = None, title: str = "Compare with…") -> None:
        super().__init__()
        self.exclude = exclude
        self.title_text = title
        self.found: dict[str, CampaignSummary] = {}
        self.search = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Input(placeholder="part of the name, or the campaign id", id="pick-search")
            yield ResponsiveTable(PICK_COLUMNS, id="pick-list")
            yield Static("", id="problem")
            yield Label("↑↓: choose   Enter: compare   Escape: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#pick-search").focus()
        self.find("")

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#pick-list", ResponsiveTable)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def find(self, search: str) -> None:
        with self.app.database.reading() as session:
            found = campaigns_core.list_campaigns(session, search=search or None, limit=PICK_LIMIT)
            if search and not any(c.campaign_id == search for c in found):
                with contextlib.suppress(NotFound):  # the exact campaign id, whatever its name
                    found.insert(0, campaigns_core.get_campaign(session, search))
        self.post_message(self.CampaignsFound(search, found))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.app.report_error(event.worker.error)

    @on(CampaignsFound)
    def show(self, message: CampaignsFound) -> None:
        if message.search != self.search:
            return
        rows = [c for c in message.found if c.id != self.exclude]
        self.found = {str(c.id): c for c in rows}
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
        key = self.table.current_key()
        if key is not None and key in self.found:
            self.dismiss(self.found[key])
