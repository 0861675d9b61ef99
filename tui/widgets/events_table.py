"""How an event reads in a table: shared by the timeline and the event log."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from tui import format as fmt
from tui.widgets.table import Column

UA_WIDTH = 18  # the user agent column: cut from the left, for its end tells the client

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
        return " ".join(_bounce_parts(data))
    for key in ("link_url", "error_message", "reason"):
        if data.get(key):
            return str(data[key])
    return ""


def _bounce_parts(data: dict[str, Any]) -> list[str]:
    """Type, code and text of a bounce, the code once: `550` is not repeated before a text
    that starts with it (`permanent 550 5.1.1 User unknown`)."""
    kind, code, text = (
        str(data.get(k) or "") for k in ("bounce_type", "error_code", "error_message")
    )
    if code and text.startswith(code):
        code = ""
    return [p for p in (kind, code, text) if p]


def who(event) -> str:
    """ "machine" or "person" for an open or click (the classifier's verdict), else ""."""
    if str(event.event_type) not in ("open", "click"):
        return ""
    data = event.event_data if isinstance(event.event_data, dict) else {}
    return "machine" if data.get("machine") else "person"


def tail(value: str, width: int) -> str:
    """The end of `value` in `width` cells, "…" in front when cut."""
    return value if len(value) <= width else "…" + value[-(width - 1) :]


NOT_RECORDED = "—"  # the source of an event stored before sources were (email_tracking.source NULL)


def source_text(source: object) -> Text:
    """Where an event came from (pixel, link, one-click, ses, import, ...), "—" if not known."""
    if source is None:
        return Text(NOT_RECORDED, style="dim")
    return fmt.literal(str(source))


def event_cells(event, tz, *, with_recipient: bool = False) -> dict[str, RenderableType]:
    cells: dict[str, RenderableType] = {
        "created_at": fmt.when(event.created_at, tz, seconds=True),
        "event_type": fmt.literal(event.event_type, EVENT_STYLES.get(str(event.event_type), "")),
        "who": Text(who(event), style="dim" if who(event) == "machine" else ""),
        "source": source_text(event.source),
        "detail": fmt.literal(detail(str(event.event_type), event.event_data)),
        "user_agent": fmt.literal(tail(fmt.clean(event.user_agent or ""), UA_WIDTH)),
        "ip_address": fmt.literal(event.ip_address or ""),
    }
    if with_recipient:
        cells["email_address"] = fmt.literal(event.email_address)
        cells["campaign"] = fmt.literal(event.campaign)
    return cells


TIMELINE_COLUMNS = (
    Column("created_at", "Time", 19, priority=0),
    Column("event_type", "Type", 11, priority=0),
    Column("who", "By", 7, priority=0),
    Column("source", "Source", 10, priority=1),
    Column("detail", "Link / detail", 20, priority=1, flex=True),
    Column("user_agent", "User agent", UA_WIDTH, priority=2),
    Column("ip_address", "IP", 15, priority=3),
)

LOG_COLUMNS = (
    Column("created_at", "Time", 19, priority=0),
    Column("event_type", "Type", 11, priority=0),
    Column("who", "By", 7, priority=4),  # at 80 columns the panel says it
    Column("email_address", "Recipient", 18, priority=0, flex=True),
    Column("campaign", "Campaign", 13, priority=2),
    Column("detail", "Link / detail", 18, priority=3),
    Column("user_agent", "User agent", UA_WIDTH, priority=5),
    # Past the user agent (support's question is "who opened it?"); the panel always says it.
    Column("source", "Source", 10, priority=6),
    Column("ip_address", "IP", 15, priority=7),
)


def event_panel(event, tz) -> Text:
    """Everything about one event, uncut, a line a fact: for the panel under a table."""
    data = event.event_data if isinstance(event.event_data, dict) else {}
    kind = str(event.event_type)
    by = who(event)
    if by == "machine":
        by = f"by a machine ({data.get('machine_reason') or 'rule not named'})"
    elif by == "person":
        by = "by a person"
    head = [fmt.literal(kind, "bold " + EVENT_STYLES.get(kind, "")), Text(" · ")]
    head.append(Text(fmt.when(event.created_at, tz, seconds=True)))
    if by:
        head += [Text(" · "), Text(by)]
    head += [Text(" · source "), source_text(event.source)]
    lines = [Text.assemble(*head)]
    facts: list[tuple[str, object]] = []
    if kind == "bounce":
        facts += [
            ("Bounce", data.get("bounce_type")),
            ("Code", data.get("error_code")),
            ("Text", data.get("error_message")),
        ]
    facts += [
        ("Link", data.get("link_url")),
        ("IP", event.ip_address),
        ("User agent", event.user_agent),
    ]
    for label, value in facts:
        if value not in (None, ""):
            # Wrapped, never cut: the end of a user agent is what tells the client.
            lines.append(Text.assemble((f"{label}: ", "bold"), fmt.clean(value)))
    return Text("\n").join(lines)


def delivery_rows(recipient, tz) -> list[tuple[str, dict[str, RenderableType]]]:
    """Timeline rows the recipient row itself tells (no event is stored for them): when it
    was sent, or that it waits in the queue, or that sending failed and why."""
    rows: list[tuple[str, dict[str, RenderableType]]] = []
    status = str(recipient.status)
    if recipient.sent_at is not None:
        rows.append(
            (
                "sent",
                {
                    "created_at": fmt.when(recipient.sent_at, tz, seconds=True),
                    "event_type": Text("sent", style="green"),
                },
            )
        )
    elif status in ("queued", "failed"):
        reason = recipient.error_message if status == "failed" else "waiting for a sender"
        rows.append(
            (status, {"event_type": fmt.status(status), "detail": fmt.literal(reason or "")})
        )
    return rows


def delivered_rows(deliveries, tz) -> list[tuple[str, dict[str, RenderableType]]]:
    """Timeline rows of a provider's delivery reports (core.events.DeliveryRow), keyed apart
    from the events' ids."""
    return [
        (
            f"delivery:{d.id}",
            {
                "created_at": fmt.when(d.delivered_at, tz, seconds=True),
                "event_type": Text("delivered", style="green"),
                "source": fmt.literal(d.provider),
                "detail": fmt.literal(fmt.clean(d.detail or "")),
            },
        )
        for d in deliveries
    ]


def delivery_panel(delivery, tz) -> Text:
    """Everything about one delivery report, for the panel under the timeline."""
    lines = [
        Text.assemble(
            ("delivered", "bold green"),
            " · ",
            fmt.when(delivery.delivered_at, tz, seconds=True),
            " · source ",
            fmt.literal(delivery.provider),
        ),
        Text.assemble(("Provider's event id: ", "bold"), fmt.clean(delivery.provider_event_id)),
    ]
    if delivery.detail:
        lines.append(Text.assemble(("Detail: ", "bold"), fmt.clean(delivery.detail)))
    return Text("\n").join(lines)


_OUTCOME_STYLE = {"sent": "green", "retry": "yellow", "failed": "red", "bounced": "red"}


def attempt_rows(attempts, tz) -> list[tuple[str, dict[str, RenderableType]]]:
    """Timeline rows of the sender's delivery attempts (core.events.AttemptRow): each try,
    what the relay answered, and what followed (sent, retry, failed, bounced)."""
    return [
        (
            f"attempt:{a.id}",
            {
                "created_at": fmt.when(a.attempted_at, tz, seconds=True),
                "event_type": Text(f"attempt {a.attempt}", style=_OUTCOME_STYLE.get(a.outcome, "")),
                "source": Text("smtp"),
                "detail": Text.assemble(f"{a.outcome}: ", fmt.literal(fmt.clean(a.reply))),
            },
        )
        for a in attempts
    ]


def attempt_panel(attempt, tz) -> Text:
    """Everything about one delivery attempt, for the panel under the timeline."""
    code = "no reply" if attempt.code is None else str(attempt.code)
    lines = [
        Text.assemble(
            (f"attempt {attempt.attempt}", "bold"),
            " · ",
            fmt.when(attempt.attempted_at, tz, seconds=True),
            " · ",
            (attempt.outcome, f"bold {_OUTCOME_STYLE.get(attempt.outcome, '')}".strip()),
        ),
        Text.assemble(("Reply: ", "bold"), code, "  ", fmt.clean(attempt.reply)),
    ]
    if attempt.enhanced_status:
        lines.append(Text.assemble(("Enhanced status: ", "bold"), attempt.enhanced_status))
    if attempt.sender_id:
        lines.append(Text.assemble(("Sender: ", "bold"), fmt.clean(attempt.sender_id)))
    return Text("\n").join(lines)
