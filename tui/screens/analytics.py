"""One campaign's analytics: rates with human ones beside them, events, opens and clicks over
time, the link table and the bounce breakdown. `c` compares it with another campaign."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.widgets import Footer, Header, Static

from core.campaign_report import CampaignReport, campaign_report, human_click_to_open
from tui import format as fmt
from tui.screens.base import DataScreen
from tui.widgets.chart import ActivityChart
from tui.widgets.table import Column, ResponsiveTable

TABLE_ROWS = 12  # a longer link table scrolls inside
WIDE = 104  # from this width the two figure tables stand side by side
LINK_COLUMNS = (
    Column("url", "Link", 20, priority=0, flex=True),
    Column("unique", "Unique", 8, priority=0, right=True),
    Column("total", "Total", 8, priority=1, right=True),
    Column("share", "Share", 6, priority=0, right=True),
)
BOUNCE_COLUMNS = (
    Column("kind", "Kind", 5, priority=0),
    Column("code", "SMTP code", 9, priority=0),
    Column("bounces", "Bounces", 8, priority=0, right=True),
    Column("recipients", "Recipients", 10, priority=1, right=True),
)


def percent_text(value: float) -> str:
    return f"{value:.1f}%"


def figures_table(report: CampaignReport) -> Table:
    """Counters and their rates (% of sent), the human figures beside them."""
    s = report.stats
    table = Table(box=None, padding=(0, 1), show_edge=False, title_justify="left")
    table.add_column("Delivery", style="bold", no_wrap=True)
    for label in ("All", "% sent", "Human", "% sent"):
        table.add_column(label, justify="right", no_wrap=True)
    table.add_row("Recipients", fmt.count(s.total_recipients))
    table.add_row("Sent", fmt.count(s.emails_sent))
    table.add_row(
        "Opened",
        fmt.count(s.emails_opened),
        percent_text(s.open_rate),
        fmt.count(s.human_opens),
        percent_text(s.human_open_rate),
    )
    table.add_row(
        "Clicked",
        fmt.count(s.emails_clicked),
        percent_text(s.click_rate),
        fmt.count(s.human_clicks),
        percent_text(s.human_click_rate),
    )
    table.add_row(
        "Click-to-open",
        "",
        percent_text(s.click_to_open_rate),
        "",
        percent_text(human_click_to_open(s)),
    )
    table.add_row("Replied", fmt.count(s.emails_replied), percent_text(s.reply_rate))
    table.add_row("Bounced", fmt.count(s.emails_bounced), percent_text(s.bounce_rate))
    return table


def events_table(report: CampaignReport) -> Table:
    """Event counts: total and unique (distinct recipients), machine ones apart."""
    s = report.stats
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("Events", style="bold", no_wrap=True)
    for label in ("Total", "Unique", "Machine"):
        table.add_column(label, justify="right", no_wrap=True)
    table.add_row(
        "Opens", fmt.count(s.total_opens), fmt.count(s.unique_opens), fmt.count(s.machine_opens)
    )
    table.add_row(
        "Clicks",
        fmt.count(s.total_clicks),
        fmt.count(s.unique_clicks),
        fmt.count(s.machine_clicks),
    )
    table.add_row("Replies", fmt.count(s.replies))
    table.add_row("Forwards", fmt.count(s.forwards))
    table.add_row("Complaints", fmt.count(s.complaints))
    table.add_row("Unsubscribes", fmt.count(s.unsubscribes))
    return table


def bounce_summary(report: CampaignReport) -> Text:
    """Bounce events: hard, soft (and other: no or an unknown bounce_type)."""
    s = report.stats
    other = sum(b.bounces for b in report.bounces if b.kind == "other")
    parts = [f"hard {s.hard_bounces:,}", f"soft {s.soft_bounces:,}"]
    if other:
        parts.append(f"other {other:,}")
    return Text.assemble(
        ("Bounces ", "bold"), (f"{s.bounces:,} events: " + " · ".join(parts), "dim")
    )


def link_rows(report: CampaignReport) -> list[tuple[str, dict]]:
    clicks = sum(link.total_clicks for link in report.links)
    rows = []
    for i, link in enumerate(report.links):
        share = link.total_clicks * 100.0 / clicks if clicks else 0.0
        url = fmt.literal(link.url) if link.url is not None else Text("(no link named)", "dim")
        rows.append(
            (
                str(i),
                {
                    "url": url,
                    "unique": fmt.count(link.unique_clicks),
                    "total": fmt.count(link.total_clicks),
                    "share": percent_text(share),
                },
            )
        )
    return rows


def bounce_rows(report: CampaignReport) -> list[tuple[str, dict]]:
    return [
        (
            str(i),
            {
                "kind": b.kind,
                "code": fmt.literal(b.code) if b.code is not None else Text("none", "dim"),
                "bounces": fmt.count(b.bounces),
                "recipients": fmt.count(b.recipients),
            },
        )
        for i, b in enumerate(report.bounces)
    ]


def _fit_rows(table: ResponsiveTable, rows: list[tuple[str, dict]]) -> None:
    """Show the rows in a table as tall as they are (up to TABLE_ROWS, then it scrolls)."""
    table.display = bool(rows)
    table.styles.height = min(len(rows), TABLE_ROWS) + 1  # + the header
    table.show_rows(rows)


class AnalyticsScreen(DataScreen):
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
        Binding("escape", "app.pop_screen", "Back", id="analytics.back", tooltip="Back"),
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

    class ReportFetched(Message):
        def __init__(self, report: CampaignReport, live: bool) -> None:
            super().__init__()
            self.report, self.live = report, live

    def __init__(self, campaign_pk: int, campaign_name: str = "") -> None:
        super().__init__()
        self.campaign_pk = campaign_pk
        self.campaign_name = campaign_name
        self.report: CampaignReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(Text("loading…"), id="summary", classes="header-stats")
            with Horizontal(id="figures-row"):
                yield Static("", id="figures")
                yield Static("", id="events")
            yield Static("", id="activity-title", classes="section-title")
            yield ActivityChart(id="chart-hourly", caption="first 72 h")
            yield ActivityChart(id="chart-daily", caption="after 72 h")
            yield Static("", id="links-title", classes="section-title")
            yield ResponsiveTable(
                LINK_COLUMNS, id="links", classes="inline-table", cursor_type="none"
            )
            yield Static("", id="bounces-title", classes="section-title")
            yield ResponsiveTable(
                BOUNCE_COLUMNS, id="bounces", classes="inline-table", cursor_type="none"
            )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.campaign_name
        for selector in ("#chart-hourly", "#chart-daily", "#links", "#bounces"):
            self.query_one(selector).display = False
        self.query_one("#body").focus()
        self.reload()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < WIDE, "-narrow")

    # -- reading ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.fetch()

    def action_refresh(self) -> None:
        self.reload()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        if resync or self.campaign_pk in campaign_ids:
            self.fetch(live=True)
        else:
            self.pacer.done()

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def fetch(self, live: bool = False) -> None:
        with self.db.reading() as session:
            report = campaign_report(session, self.campaign_pk, now=self.app.now())
        self.post_message(self.ReportFetched(report, live))

    @on(ReportFetched)
    def show_report(self, message: ReportFetched) -> None:
        if message.live:
            self.pacer.done()
        self.report = report = message.report
        s = report.stats
        tz = self.app.tz
        self.campaign_name = s.name
        self.sub_title = s.name
        top = Text.assemble(
            fmt.literal(s.campaign_id, "bold"),
            "  ",
            fmt.status(s.status),
            "  ",
            fmt.literal(s.name),
        )
        times = [
            f"{label} {fmt.when(value, tz)}"
            for label, value in (
                ("scheduled", s.scheduled_at),
                ("started", s.started_at),
                ("completed", s.completed_at),
            )
            if value
        ]
        top.append("\n")
        top.append("  ".join(times) or "not started", style="dim")
        self.query_one("#summary", Static).update(top)
        self.query_one("#figures", Static).update(figures_table(report))
        self.query_one("#events", Static).update(events_table(report))
        self._show_activity(report)
        self._show_links(report)
        self._show_bounces(report)

    def _show_activity(self, report: CampaignReport) -> None:
        a = report.activity
        tz = self.app.tz
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

    def _show_links(self, report: CampaignReport) -> None:
        table = self.query_one("#links", ResponsiveTable)
        _fit_rows(table, link_rows(report))
        clicks = sum(link.total_clicks for link in report.links)
        text = Text("Links ", style="bold")
        if report.links:
            text.append(f"{len(report.links):,} links, {clicks:,} clicks", style="dim")
        else:
            text.append("no clicks yet", style="dim")
        self.query_one("#links-title", Static).update(text)

    def _show_bounces(self, report: CampaignReport) -> None:
        _fit_rows(self.query_one("#bounces", ResponsiveTable), bounce_rows(report))
        self.query_one("#bounces-title", Static).update(bounce_summary(report))

    # -- actions ---------------------------------------------------------------------------
    def action_compare(self) -> None:
        from tui.screens.compare import CampaignPicker, CompareScreen

        def chosen(other) -> None:
            if other is not None:
                self.app.push_screen(CompareScreen(self.campaign_pk, other.id))

        self.app.push_screen(CampaignPicker(exclude=self.campaign_pk), chosen)

    def action_export(self) -> None:
        from tui.widgets.export_dialog import open_export

        campaign_id = self.report.stats.campaign_id if self.report else ""
        open_export(self, self.campaign_pk, campaign_id, self.campaign_name)
