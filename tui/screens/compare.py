"""Two campaigns side by side (every figure, with the difference); the second is picked with
tui.widgets.campaign_picker."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Header, Static

from core import figures
from core.campaigns import CampaignSummary
from core.figures import CampaignStats, Difference, compare
from tui import format as fmt
from tui.screens.shared.base import DataScreen
from tui.widgets.campaign_picker import CampaignPicker
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable

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
    READS = "the comparison"
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

    @dataclass
    class StatsCompared(Message):
        pair: tuple[int, int]
        a: CampaignStats
        b: CampaignStats
        live: bool

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
            a = figures.campaign_stats(session, pair[0])
            b = figures.campaign_stats(session, pair[1])
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
