"""What the analytics screen shows, built from core's figures: the delivery and event tables,
the link and bounce table rows. Outside text (URLs, SMTP codes) is shown literally."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from core.campaigns import CampaignSummary
from core.figures import (
    BounceCode,
    CampaignStats,
    LinkClicks,
    human_click_to_open,
)
from tui import format as fmt
from tui.widgets.table import Column

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


def figures_table(o: CampaignSummary, s: CampaignStats | None) -> Table:
    """Counters and their rates (% of sent), the human figures beside them ("…" until the
    events are counted)."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("Delivery", style="bold", no_wrap=True)
    for label in ("All", "% sent", "Human", "% sent"):
        table.add_column(label, justify="right", no_wrap=True)

    def human(count: int, rate: float) -> tuple[str, str]:
        return ("…", "…") if s is None else (fmt.count(count), percent_text(rate))

    table.add_row("Recipients", fmt.count(o.total_recipients))
    table.add_row("Sent", fmt.count(o.emails_sent))
    table.add_row(
        "Opened",
        fmt.count(o.emails_opened),
        percent_text(o.open_rate),
        *human(s.human_opens if s else 0, s.human_open_rate if s else 0.0),
    )
    table.add_row(
        "Clicked",
        fmt.count(o.emails_clicked),
        percent_text(o.click_rate),
        *human(s.human_clicks if s else 0, s.human_click_rate if s else 0.0),
    )
    table.add_row(
        "Click-to-open",
        "",
        percent_text(o.click_to_open_rate),
        "",
        "…" if s is None else percent_text(human_click_to_open(s)),
    )
    table.add_row("Replied", fmt.count(o.emails_replied), percent_text(o.reply_rate))
    table.add_row("Bounced", fmt.count(o.emails_bounced), percent_text(o.bounce_rate))
    return table


def events_table(s: CampaignStats) -> Table:
    """Event counts: total and unique (distinct recipients), machine ones apart."""
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


def bounce_summary(s: CampaignStats, bounces: tuple[BounceCode, ...]) -> Text:
    """Bounce events: hard, soft (and other: no or an unknown bounce_type)."""
    other = sum(b.bounces for b in bounces if b.kind == "other")
    parts = [f"hard {s.hard_bounces:,}", f"soft {s.soft_bounces:,}"]
    if other:
        parts.append(f"other {other:,}")
    return Text.assemble(
        ("Bounces ", "bold"), (fmt.plural(s.bounces, "event") + ": " + " · ".join(parts), "dim")
    )


def link_rows(links: tuple[LinkClicks, ...]) -> list[tuple[str, dict]]:
    clicks = sum(link.total_clicks for link in links)
    rows = []
    for i, link in enumerate(links):
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


def bounce_rows(bounces: tuple[BounceCode, ...]) -> list[tuple[str, dict]]:
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
        for i, b in enumerate(bounces)
    ]
