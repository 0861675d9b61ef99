"""One recipient: who, where, and every event in time order with its full data."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from core import events
from core.events import AttemptRow, DeliveryRow, EventRow, Timeline
from tui import format as fmt
from tui.screens.shared.base import DataScreen
from tui.widgets.events_table import (
    TIMELINE_COLUMNS,
    attempt_panel,
    attempt_rows,
    delivered_rows,
    delivery_panel,
    delivery_rows,
    event_cells,
    event_panel,
)
from tui.widgets.footer import Footer
from tui.widgets.table import ResponsiveTable


class TimelineScreen(DataScreen):
    READS = "the timeline"
    BINDINGS = [
        Binding("escape", "back", "Back", id="timeline.back", tooltip="Back"),
        Binding("ctrl+r", "refresh", "Refresh", id="timeline.refresh", tooltip="Fetch again"),
    ]

    @dataclass
    class TimelineFetched(Message):
        timeline: Timeline

    def __init__(self, recipient_id: int) -> None:
        super().__init__()
        self.recipient_id = recipient_id
        self.campaign_pk: int | None = None
        self.events: dict[str, EventRow] = {}
        self.deliveries: dict[str, DeliveryRow] = {}
        self.attempts: dict[str, AttemptRow] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("loading…"), id="recipient", classes="header-stats")
        yield ResponsiveTable(TIMELINE_COLUMNS, id="events")
        with VerticalScroll(id="event-json"):
            yield Static("", id="json")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#events").focus()
        self.reload()

    def reload(self) -> None:
        self.fetch()

    def action_refresh(self) -> None:
        self.reload()

    def live_refresh(self, campaign_ids: frozenset[int], resync: bool) -> None:
        if resync or self.campaign_pk is None or self.campaign_pk in campaign_ids:
            self.fetch()
        else:
            self.pacer.done()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def fetch(self) -> None:
        with self.db.reading() as session:
            timeline = events.recipient_timeline(session, self.recipient_id)
        self.post_message(self.TimelineFetched(timeline))

    @on(TimelineFetched)
    def show(self, message: TimelineFetched) -> None:
        self.pacer.done()
        t = message.timeline
        r = t.recipient
        self.campaign_pk = r.campaign_id
        tz = self.console.tz
        self.sub_title = r.email_address
        stamps = "  ".join(
            f"{label} {fmt.when(value, tz)}"
            for label, value in (
                ("sent", r.sent_at),
                ("opened", r.opened_at),
                ("clicked", r.clicked_at),
                ("replied", r.replied_at),
                ("bounced", r.bounced_at),
            )
            if value
        )
        lines = [
            Text.assemble(fmt.literal(r.email_address, "bold"), "  ", fmt.status(r.status)),
            Text.assemble(
                "campaign ", fmt.literal(t.campaign_id_str), "  ", fmt.literal(t.campaign_name)
            ),
            Text(stamps or "not sent yet", style="dim"),
        ]
        if r.error_message:
            lines.append(Text.assemble("error ", fmt.literal(r.error_message, "red")))
        counted = fmt.plural(len(t.events), "event")
        if t.deliveries:
            counted += f", {fmt.plural(len(t.deliveries), 'delivery report')}"
        if t.attempts:
            counted += f", {fmt.plural(len(t.attempts), 'delivery attempt')}"
        lines.append(Text(counted, style="dim"))
        self.query_one("#recipient", Static).update(Text("\n").join(lines))
        self.events = {str(e.id): e for e in t.events}
        self.deliveries = {f"delivery:{d.id}": d for d in t.deliveries}
        self.attempts = {f"attempt:{a.id}": a for a in t.attempts}
        table = self.query_one("#events", ResponsiveTable)
        # In time order: the sender's attempts, "sent", then providers' delivery reports, then
        # events at the same time; queued or failed (undated) first.
        undated = [row for row in delivery_rows(r, tz) if r.sent_at is None]
        tries = attempt_rows(t.attempts, tz)
        timed = [(a.attempted_at, 0, row) for a, row in zip(t.attempts, tries, strict=True)]
        timed += [(r.sent_at, 0, row) for row in delivery_rows(r, tz) if r.sent_at is not None]
        reports = delivered_rows(t.deliveries, tz)
        timed += [(d.delivered_at, 1, row) for d, row in zip(t.deliveries, reports, strict=True)]
        timed += [(e.created_at, 2, (str(e.id), event_cells(e, tz))) for e in t.events]
        timed.sort(key=lambda item: (item[0], item[1]))  # stable: events keep their order
        table.show_rows(undated + [row for _, _, row in timed])
        self._show_json(table.current_key())

    @on(DataTable.RowHighlighted, "#events")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_json(event.row_key.value if event.row_key else None)

    def _show_json(self, key: str | None) -> None:
        event = self.events.get(key) if key else None
        target = self.query_one("#json", Static)
        delivery = self.deliveries.get(key) if key else None
        if delivery is not None:
            target.update(delivery_panel(delivery, self.console.tz))
            return
        attempt = self.attempts.get(key) if key else None
        if attempt is not None:
            target.update(attempt_panel(attempt, self.console.tz))
            return
        if event is None:
            target.update(Text("no events" if not self.events else "", style="dim"))
            return
        body = {
            "event_type": str(event.event_type),
            "created_at": event.created_at.isoformat(),
            "source": None if event.source is None else str(event.source),
            "ip_address": event.ip_address,
            "user_agent": event.user_agent,
            "event_data": event.event_data,
        }
        # Bounded: a 7 KB event nested 980 deep is 1.9 MB as indented JSON (issue 19.8).
        panel = event_panel(event, self.console.tz)
        target.update(Text("\n").join([panel, fmt.literal_block(fmt.pretty_json(body))]))
