"""Opens and clicks over time as bar charts drawn with block characters.

Two charts share one time axis: opens above, clicks below, each scaled to its own peak (clicks
would be invisible on the opens' scale) and labelled with its peak and total, so the picture
reads the same in 16 colours or with NO_COLOR: the bars are characters, colour only helps.
When there are more buckets than columns, neighbouring buckets are added up into one column
(the title then says "per 2 hours", say).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from rich.text import Text
from textual.widget import Widget

from core.figures import Volume

EIGHTHS = " ▁▂▃▄▅▆▇█"
OPEN_ROWS, CLICK_ROWS = 4, 2
HEIGHT = OPEN_ROWS + CLICK_ROWS + 4  # two titles, the axis, its labels
OPEN_STYLE, CLICK_STYLE = "cyan", "magenta"


@dataclass(frozen=True, slots=True)
class Column:
    start: Volume  # the first bucket of the group (for the axis label)
    opens: int
    clicks: int


def group(buckets: Sequence[Volume], room: int) -> tuple[int, list[Column]]:
    """(buckets per column, columns): neighbours added up so that at most `room` columns."""
    per = max(1, math.ceil(len(buckets) / max(room, 1)))
    columns = []
    for i in range(0, len(buckets), per):
        chunk = buckets[i : i + per]
        columns.append(Column(chunk[0], sum(b.opens for b in chunk), sum(b.clicks for b in chunk)))
    return per, columns


def bar_rows(values: Sequence[int], rows: int, cell: int, style: str) -> list[Text]:
    """Vertical bars, `rows` high, in eighths of a cell; any non-zero value shows at least ▁."""
    peak = max(values, default=0)
    heights = [0 if v <= 0 or peak == 0 else max(1, round(v * rows * 8 / peak)) for v in values]
    bar = max(1, cell - 1) if cell > 1 else 1
    lines = []
    for r in range(rows):
        floor = (rows - 1 - r) * 8
        line = Text(style=style)
        for h in heights:
            line.append(EIGHTHS[min(max(h - floor, 0), 8)] * bar + " " * (cell - bar))
        lines.append(line)
    return lines


def _unit_label(unit: str, per: int) -> str:
    if per == 1:
        return f"per {unit}"
    return f"per {per} {unit}s"


def _tick_label(column: Column, unit: str, tz: tzinfo | None) -> str:
    moment = column.start.start.astimezone(tz)
    return moment.strftime("%m-%d %H:%M" if unit == "hour" else "%m-%d")


def render_chart(
    buckets: Sequence[Volume],
    unit: str,
    width: int,
    tz: tzinfo | None = None,
    *,
    caption: str = "",
) -> Text:
    """The two charts and the axis as one Text, `width` cells wide (HEIGHT lines)."""
    opens_total = sum(b.opens for b in buckets)
    clicks_total = sum(b.clicks for b in buckets)
    # Wide enough for any group's sum, which can exceed every single bucket.
    gutter = len(f"{max(opens_total, clicks_total):,}") + 2
    per, columns = group(buckets, width - gutter - 1)
    opens = [c.opens for c in columns]
    clicks = [c.clicks for c in columns]
    room = width - gutter - 1
    cell = max(1, min(4, room // max(len(columns), 1)))
    pad = " " * (gutter - 2)
    lines: list[Text] = []

    def title(name: str, values: list[int], total: int, style: str) -> Text:
        peak = max(values, default=0)
        text = Text.assemble((name, f"bold {style}"), f" {_unit_label(unit, per)}")
        text.append(f" · total {total:,} · peak {peak:,}", style="dim")
        if caption and name == "Opens":
            text.append(f" · {caption}", style="dim")
        text.truncate(width, overflow="ellipsis")
        return text

    def chart(values: list[int], rows: int, style: str) -> None:
        peak = max(values, default=0)
        for i, bars in enumerate(bar_rows(values, rows, cell, style)):
            # The peak at the top; bars stand on the bottom row (no "0" label beside a bar).
            axis = f"{peak:>{gutter - 2},} ┤" if i == 0 else f"{pad} │"
            lines.append(Text.assemble((axis, "dim"), bars))

    lines.append(title("Opens", opens, opens_total, OPEN_STYLE))
    chart(opens, OPEN_ROWS, OPEN_STYLE)
    lines.append(title("Clicks", clicks, clicks_total, CLICK_STYLE))
    chart(clicks, CLICK_ROWS, CLICK_STYLE)
    axis, labels = _axis(columns, cell, unit, tz, room)
    lines.append(Text(f"{pad} └{axis}", style="dim"))
    lines.append(Text(f"{pad}  {labels}", style="dim"))
    return Text("\n").join(lines)


def _axis(
    columns: list[Column], cell: int, unit: str, tz: tzinfo | None, room: int
) -> tuple[str, str]:
    """The axis line with ticks, and the labels under them (never overlapping, never cut)."""
    span = len(columns) * cell
    axis = ["─"] * span
    labels = [" "] * max(span, room)
    taken = -1
    for i, column in enumerate(columns):
        at = i * cell
        label = _tick_label(column, unit, tz)
        if at <= taken or at + len(label) > len(labels):
            continue
        axis[at] = "┬"
        labels[at : at + len(label)] = label
        taken = at + len(label) + 1  # one space at least before the next label
    return "".join(axis), "".join(labels).rstrip()


class ActivityChart(Widget):
    """Opens and clicks per bucket; `show(buckets, unit)` to draw, redraws on resize."""

    DEFAULT_CSS = f"""
    ActivityChart {{
        height: {HEIGHT};
        width: 1fr;
    }}
    """

    def __init__(self, *, caption: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.buckets: tuple[Volume, ...] = ()
        self.unit = "hour"
        self.caption = caption
        self.tz: tzinfo | None = None

    def show(self, buckets: Sequence[Volume], unit: str, tz: tzinfo | None) -> None:
        self.buckets, self.unit, self.tz = tuple(buckets), unit, tz
        self.refresh()

    def render(self) -> Text:
        if not self.buckets:
            return Text("")
        return render_chart(self.buckets, self.unit, self.size.width, self.tz, caption=self.caption)
