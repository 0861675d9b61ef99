"""The recipients screen's header: the campaign, its times, its counters and rates, in four
lines that fit 80 columns."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from core.store import percent
from tui import format as fmt


def campaign_header(s, tz) -> Text:
    """`s` is a core CampaignSummary."""
    top = Text.assemble(
        fmt.literal(s.campaign_id, "bold"),
        "  ",
        fmt.status(s.status),
        "  ",
        fmt.literal(s.name),
    )
    # Once it ran, when it was scheduled is history: the line stays within 80 columns.
    stamps: tuple[tuple[str, datetime | None], ...]
    stamps = (("started", s.started_at), ("completed", s.completed_at))
    if not s.started_at:
        stamps = (("scheduled", s.scheduled_at),)
    times = "  ".join(f"{label} {fmt.when(value, tz)}" for label, value in stamps if value)
    opened_clicked = percent(s.emails_clicked, s.emails_opened)
    times_line = Text.assemble(
        (times or "not started", "dim"),
        ("  ·  ", "dim"),
        f"Click-to-open {opened_clicked:.1f}%",
    )
    grid = counters_grid(s)
    header = Text("\n").join([top, times_line, *grid])
    header.no_wrap, header.overflow = True, "ellipsis"  # a long name is cut with "…"
    return header


def counters_grid(s) -> list[Text]:
    """The counters and rates in two aligned lines, within 78 columns below 100 million
    recipients: `Recipients 12,100   Opened  5,210  43.1%   Replied 310   2.6%`."""
    cells = [
        [("Recipients", s.total_recipients, None), ("Sent", s.emails_sent, None)],
        [("Opened", s.emails_opened, s.open_rate), ("Clicked", s.emails_clicked, s.click_rate)],
        [("Replied", s.emails_replied, s.reply_rate), ("Bounced", s.emails_bounced, s.bounce_rate)],
    ]
    lines = [Text(), Text()]
    for column in cells:
        label_w = max(len(label) for label, _, _ in column)
        count_w = max(len(f"{n:,}") for _, n, _ in column)
        for line, (label, n, rate) in zip(lines, column, strict=True):
            if line:
                line.append("   ")
            line.append(f"{label:<{label_w}} ")
            line.append(f"{n:>{count_w},}", style="bold")
            if rate is not None:
                line.append(f" {rate:>5.1f}%", style="bold")
    return lines


def progress_line(s, state) -> Text | None:
    """A running campaign's "Sent 1,200 of 5,000 · 41.5 msg/s · about 1 min 32 s left" (the
    rate from the last sends, core SendingState.rate)."""
    if state is None or state.status != "running":
        return None
    line = Text(f"Sent {s.emails_sent:,} of {s.total_recipients:,}")
    rate = state.rate
    if rate is not None:
        line.append(f" · {rate:,.1f} msg/s")
        left = state.seconds_left(s.total_recipients - s.emails_sent)
        if left is not None:
            line.append(f" · about {_duration(left)} left")
    return line


def _duration(seconds: float) -> str:
    whole = max(1, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def sending_line(s, state, tz) -> Text | None:
    """Under the header: why an alarm paused the campaign, or the senders at work on it
    (`campaigns send`'s heartbeat), or that nothing is sending it. `s` is a core
    CampaignSummary, `state` a core SendingState (None: not read)."""
    if s.pause_reason:
        return Text.assemble(("Paused by its alarm: ", "bold yellow"), fmt.literal(s.pause_reason))
    if state is None:
        return None
    if state.senders:
        first = state.senders[0]
        line = Text.assemble(("Sender at work on ", "bold"), fmt.literal(first.where))
        line.append(
            f", last sent {_local_time(first.last_sent_at, tz)}"
            if first.last_sent_at
            else ", nothing sent yet"
        )
        if len(state.senders) > 1:
            line.append(f" (and {len(state.senders) - 1} more)")
        return line
    if state.idle:  # running, recipients waiting, and nothing has claimed any
        return Text.assemble(
            ("Nothing is sending this campaign: run ", "bold yellow"),
            (f"campaigns simulate {fmt.clean(s.campaign_id)}", "bold"),
        )
    return None


def _local_time(value: datetime, tz) -> str:
    return fmt.when(value, tz, seconds=True).rsplit(" ", 1)[-1]
