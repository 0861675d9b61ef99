"""How an event reads in a table: shared by the timeline and the event log."""

from __future__ import annotations

from typing import Any

from tui import format as fmt
from tui.widgets.table import Column

EVENT_STYLES = {
    "open": "green",
    "click": "bold green",
    "reply": "bold cyan",
    "forward": "cyan",
    "bounce": "bold red",
    "unsubscribe": "magenta",
    "complain": "bold magenta",
}


def detail(event_type: str, data: dict[str, Any] | None) -> str:
    """The one thing worth reading about an event: its link, or its bounce reason."""
    if not isinstance(data, dict):
        return ""
    if event_type == "click":
        return str(data.get("link_url", ""))
    if event_type == "bounce":
        parts = [data.get("bounce_type"), data.get("error_code"), data.get("error_message")]
        return " ".join(str(p) for p in parts if p not in (None, ""))
    for key in ("link_url", "error_message", "reason"):
        if data.get(key):
            return str(data[key])
    return ""


def event_cells(event, tz, *, with_recipient: bool = False) -> dict[str, object]:
    cells: dict[str, object] = {
        "created_at": fmt.when(event.created_at, tz, seconds=True),
        "event_type": fmt.literal(event.event_type, EVENT_STYLES.get(str(event.event_type), "")),
        "detail": fmt.literal(detail(str(event.event_type), event.event_data)),
        "user_agent": fmt.literal(event.user_agent or ""),
        "ip_address": fmt.literal(event.ip_address or ""),
    }
    if with_recipient:
        cells["email_address"] = fmt.literal(event.email_address)
        cells["campaign"] = fmt.literal(event.campaign)
    return cells


TIMELINE_COLUMNS = (
    Column("created_at", "Time", 19, priority=0),
    Column("event_type", "Type", 11, priority=0),
    Column("detail", "Link / detail", 20, priority=1, flex=True),
    Column("ip_address", "IP", 15, priority=2),
    Column("user_agent", "User agent", 24, priority=3),
)

LOG_COLUMNS = (
    Column("created_at", "Time", 19, priority=0),
    Column("event_type", "Type", 11, priority=0),
    Column("email_address", "Recipient", 18, priority=0, flex=True),
    Column("campaign", "Campaign", 13, priority=2),
    Column("detail", "Link / detail", 18, priority=3),
    Column("ip_address", "IP", 15, priority=4),
    Column("user_agent", "User agent", 20, priority=5),
)
