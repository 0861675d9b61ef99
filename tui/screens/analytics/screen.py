"""One campaign's analytics: rates with human ones beside them, events, opens and clicks over
time, the link table and the bounce breakdown. `c` compares it with another campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from core import figures
from core.campaigns import CampaignSummary
from core.figures import (
    Activity,
    BounceCode,
    CampaignReport,
    CampaignStats,
    LinkClicks,
    activity,
)
from tui import format as fmt
from tui.messages import OpenCompare
from tui.screens.analytics.figures import (
    BOUNCE_COLUMNS,
    LINK_COLUMNS,
    bounce_rows,
    bounce_summary,
    events_table,
    figures_table,
    link_rows,
)
from tui.screens.shared.base import DataScreen
from tui.widgets.campaign_picker import CampaignPicker
from tui.widgets.chart import ActivityChart
from tui.widgets.export_dialog import open_export
from tui.widgets.footer import Footer
from tui.widgets.table import ResponsiveTable

TABLE_ROWS = 12  # a longer link table scrolls inside
WIDE = 104  # from this width the two figure tables stand side by side
# What the screen reads, each in its own worker: the counters (one row, at once), then the
# aggregates over the campaign's events, which take time on a big campaign.
PARTS = ("overview", "stats", "activity", "links", "bounces")


def _fit_rows(table: ResponsiveTable, rows: list[tuple[str, dict]]) -> None:
    """Show the rows in a table as tall as they are (up to TABLE_ROWS, then it scrolls)."""
    table.display = bool(rows)
    table.styles.height = min(len(rows), TABLE_ROWS) + 1  # + the header
    table.show_rows(rows)


class AnalyticsScreen(DataScreen):
    READS = "the analytics"
    DEFAULT_CSS = """
    AnalyticsScreen #body {
        height: 1fr;
    }
    AnalyticsScreen #figures-row {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
    }
    AnalyticsScreen #figures-row > Static {
        width: auto;
        height: auto;
        margin-right: 4;
    }
    AnalyticsScreen.-narrow #figures-row {
        layout: vertical;
    }
    AnalyticsScreen.-narrow #figures {
        margin-bottom: 1;
    }
    AnalyticsScreen .section-title {
        height: auto;
        padding: 0 1;
        border-top: solid $panel;
    }
    AnalyticsScreen ActivityChart {
        padding: 0 1;
        margin-bottom: 1;
    }
    AnalyticsScreen ResponsiveTable.inline-table {
        margin: 0 1 1 1;
    }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="analytics.back", tooltip="Back"),
        Binding(
            "c",
            "compare",
            "Compare",
            id="analytics.compare",
            tooltip="Side by side with another campaign",
        ),
        Binding("x", "export", "Export", id="analytics.export", tooltip="Export to a file"),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            show=False,
            id="analytics.refresh",
            tooltip="Fetch the figures again",
        ),
    ]

    @dataclass
    class PartFetched(Message):
        """One part of the screen read from the database (see PARTS)."""

        generation: int
        part: str
        value: Any

    def __init__(self, campaign_pk: int, campaign_name: str = "") -> None:
        super().__init__()
        self.campaign_pk = campaign_pk
        self.campaign_name = campaign_name
        self.parts: dict[str, Any] = {}  # part -> its latest value
        self.generation = 0
        self.waiting: set[str] = set()  # parts of this generation not painted yet
        self.arrived: set[str] = set()  # parts of this generation painted
        self.live_pending = False
        self.reported = 0  # the generation whose failure was reported

    @property
    def report(self) -> CampaignReport | None:
        """Every figure, once all parts have arrived at least once."""
        p = self.parts
        if not all(part in p for part in PARTS if part != "overview"):
            return None
        return CampaignReport(p["stats"], p["links"], p["bounces"], p["activity"])

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(Text("loading…"), id="summary", classes="header-stats")
            with Horizontal(id="figures-row"):
                yield Static("", id="figures")
                yield Static(Text("counting events…", style="dim"), id="events")
            yield Static(
                Text("Activity", style="bold"), id="activity-title", classes="section-title"
            )
            yield ActivityChart(id="chart-hourly", caption="first 72 h")
            yield ActivityChart(id="chart-daily", caption="after 72 h")
            yield Static(Text("Links", style="bold"), id="links-title", classes="section-title")
            yield ResponsiveTable(
                LINK_COLUMNS, id="links", classes="inline-table", cursor_type="none"
            )
            yield Static(Text("Bounces", style="bold"), id="bounces-title", classes="section-title")
            yield ResponsiveTable(
                BOUNCE_COLUMNS, id="bounces", classes="inline-table", cursor_type="none"
            )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.campaign_name
        for selector in ("#chart-hourly", "#chart-daily", "#links", "#bounces"):
            self.query_one(selector).display = False
        for selector in ("#activity-title", "#links-title", "#bounces-title"):
            self.query_one(selector, Static).update(self._counting(selector))
        self.query_one("#body").focus()
        self.reload()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < WIDE, "-narrow")

    @staticmethod
    def _counting(selector: str) -> Text:
        name = selector.removeprefix("#").removesuffix("-title").title()
        return Text.assemble((f"{name} ", "bold"), ("counting…", "dim"))

    # -- reading ---------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the counters (one row), paint them, then read the aggregates over the events,
        each in its own worker (its own connection), each painted when it is there. The
        aggregates start only once the header is painted: on a big campaign they keep the
        database busy, and the header should not wait for a core to be free."""
        self.generation += 1
        self.waiting, self.arrived = set(PARTS), set()
        self._start("overview")

    def _start(self, part: str, *args: Any) -> None:
        self.run_worker(
            partial(self._read, self.generation, part, *args),
            name=f"analytics {part}",
            group=f"analytics-{part}",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def action_refresh(self) -> None:
        self.reload()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        if resync or self.campaign_pk in campaign_ids:
            self.live_pending = True
            self.reload()
        else:
            self.pacer.done()

    def _read(self, generation: int, part: str, started: datetime | None = None) -> None:
        """A worker: one part's core call (PARTS) in its own read transaction."""
        pk = self.campaign_pk
        with self.db.reading() as session:
            if part == "overview":
                value: Any = figures.campaign_overview(session, pk)
            elif part == "stats":
                value = figures.campaign_stats(session, pk)
            elif part == "links":
                value = figures.link_clicks(session, pk)
            elif part == "bounces":
                value = figures.bounce_codes(session, pk)
            else:
                value = activity(session, pk, start=started, now=self.console.now())
        self.post_message(self.PartFetched(generation, part, value))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR or not worker.group.startswith("analytics-"):
            return  # DataScreen's handler runs next
        event.prevent_default()
        if self.live_pending:
            self.live_pending = False
            self.pacer.done()
        # Every part fails alike when the campaign went away: say it once per reading.
        if worker.error is not None and self.reported != self.generation:
            self.reported = self.generation
            self.console.report_error(worker.error, reading=self.READS)

    @on(PartFetched)
    def _part_fetched(self, message: PartFetched) -> None:
        if message.generation != self.generation:
            return  # an older reading, overtaken
        self.parts[message.part] = message.value
        self.arrived.add(message.part)
        self.waiting.discard(message.part)
        getattr(self, f"_show_{message.part}")(message.value)
        if message.part == "overview":  # painted: now the aggregates
            started = message.value.started_at
            for part in PARTS[1:]:
                self._start(part, *((started,) if part == "activity" else ()))
        if not self.waiting and self.live_pending:
            self.live_pending = False
            self.pacer.done()

    def _show_overview(self, o: CampaignSummary) -> None:
        tz = self.console.tz
        self.campaign_name = o.name
        self.sub_title = o.name
        top = Text.assemble(
            fmt.literal(o.campaign_id, "bold"),
            "  ",
            fmt.status(o.status),
            "  ",
            fmt.literal(o.name),
        )
        times = [
            f"{label} {fmt.when(value, tz)}"
            for label, value in (
                ("scheduled", o.scheduled_at),
                ("started", o.started_at),
                ("completed", o.completed_at),
            )
            if value
        ]
        top.append("\n")
        top.append("  ".join(times) or "not started", style="dim")
        self.query_one("#summary", Static).update(top)
        self._show_figures()

    def _show_figures(self) -> None:
        o = self.parts.get("overview")
        s = self.parts.get("stats")
        if "stats" in self.arrived or o is None:
            o = s  # the stats carry the counters too, read after the overview
        # else: this reading's counters with the last reading's event figures until new ones
        if o is not None:
            self.query_one("#figures", Static).update(figures_table(o, s))

    def _show_stats(self, s: CampaignStats) -> None:
        self._show_figures()
        self.query_one("#events", Static).update(events_table(s))
        if "bounces" in self.parts:
            self._show_bounces(self.parts["bounces"])

    def _show_activity(self, a: Activity) -> None:
        tz = self.console.tz
        title = self.query_one("#activity-title", Static)
        hourly = self.query_one("#chart-hourly", ActivityChart)
        daily = self.query_one("#chart-daily", ActivityChart)
        hourly.display, daily.display = bool(a.hourly), bool(a.daily)
        hourly.show(a.hourly, "hour", tz)
        daily.show(a.daily, "day", tz)
        if a.start is None:
            title.update(Text.assemble(("Activity ", "bold"), ("not started yet", "dim")))
        else:
            title.update(
                Text.assemble(
                    ("Activity ", "bold"),
                    (f"since {fmt.when(a.start, tz)}: hourly for 72 h, then daily", "dim"),
                )
            )

    def _show_links(self, links: tuple[LinkClicks, ...]) -> None:
        _fit_rows(self.query_one("#links", ResponsiveTable), link_rows(links))
        clicks = sum(link.total_clicks for link in links)
        text = Text("Links ", style="bold")
        if links:
            counts = f"{fmt.plural(len(links), 'link')}, {fmt.plural(clicks, 'click')}"
            text.append(counts, style="dim")
        else:
            text.append("no clicks yet", style="dim")
        self.query_one("#links-title", Static).update(text)

    def _show_bounces(self, bounces: tuple[BounceCode, ...]) -> None:
        _fit_rows(self.query_one("#bounces", ResponsiveTable), bounce_rows(bounces))
        s = self.parts.get("stats")
        if s is not None:  # the hard/soft totals come with the stats
            self.query_one("#bounces-title", Static).update(bounce_summary(s, bounces))

    # -- actions ---------------------------------------------------------------------------
    def action_compare(self) -> None:
        def chosen(other: CampaignSummary | None) -> None:
            if other is not None:
                self.drill_down(OpenCompare(self, self.campaign_pk, other.id))

        self.app.push_screen(CampaignPicker(exclude=self.campaign_pk), chosen)

    def action_export(self) -> None:
        o = self.parts.get("overview")
        open_export(self, self.campaign_pk, o.campaign_id if o else "", self.campaign_name)
