"""How values look on screen. Outside text is shown literally: never markup, never raw escapes."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from rich.text import Text

from core.errors import CampaignConsoleError
from tui import json_view

# C0 controls, DEL and C1 controls would reach the terminal as commands; show them as \xNN.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_CONTROL[ord("\t")] = " "


# On a terminal (export to stdout): every control but newline and tab shown as \xNN.
_TERMINAL = {c: f"\\x{c:02x}" for c in _CONTROL if c not in (0x0A, 0x09)}


def terminal_text(text: str) -> str:
    """Text for a terminal: its lines kept (CRLF as a newline), other controls escaped, so
    nothing in it runs as a terminal command (ESC, BEL, CSI, an OSC 52 clipboard write)."""
    return text.replace("\r\n", "\n").translate(_TERMINAL)


def clean(value: object) -> str:
    """The value as a single printable line: control characters escaped, newlines shown as ⏎."""
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").replace("\n", "⏎").translate(_CONTROL)


def literal(value: object, style: str = "") -> Text:
    """A Text that shows value exactly as typed: `[bold]` stays brackets, ESC shows as \\x1b."""
    return Text(clean(value), style=style, no_wrap=True, overflow="ellipsis")


def literal_block(value: str) -> Text:
    """Multi-line outside text (formatted JSON, say): newlines kept, other controls escaped."""
    return Text("\n".join(line.translate(_CONTROL) for line in value.split("\n")))


def pretty_json(data: Any) -> str:
    """Indented JSON, bounded in depth and size with the cut said (tui.json_view)."""
    return json_view.pretty(data)


def count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def rate(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def when(value: datetime | None, tz: tzinfo | None = None, *, seconds: bool = False) -> str:
    """A timestamp in the display zone; the year only when it isn't this year's."""
    if value is None:
        return ""
    return _local(value, tz, "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def short_when(value: datetime | None, tz: tzinfo | None = None) -> str:
    return "" if value is None else _local(value, tz, "%m-%d %H:%M")


def _local(value: datetime, tz: tzinfo | None, pattern: str) -> str:
    """In the display zone; in UTC, said so, where that zone would pass year 1 or 9999."""
    try:
        local, zone = value.astimezone(tz), ""
    except OverflowError:
        local, zone = value.astimezone(UTC), " UTC"
    # %Y is not padded to four digits for years before 1000 on every platform.
    return local.strftime(pattern.replace("%Y", f"{local.year:04d}")) + zone


STATUS_STYLES = {
    "draft": "dim",
    "scheduled": "cyan",
    "running": "bold green",
    "paused": "yellow",
    "completed": "blue",
    "failed": "bold red",
    "pending": "dim",
    "queued": "cyan",
    "sent": "green",
    "bounced": "red",
    "unsubscribed": "magenta",
}


def status(value: str) -> Text:
    return Text(str(value), style=STATUS_STYLES.get(str(value), ""))


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """`1 event`, `2,000 events`, `0 matches` (give the plural when it isn't singular + s)."""
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{n:,} {word}"


def error_text(error: BaseException) -> str:
    """An error as a person reads it: core's own message, or the exception's type and text."""
    if isinstance(error, CampaignConsoleError):
        return str(error)
    return f"{type(error).__name__}: {error}"
