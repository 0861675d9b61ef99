"""What the recipients table shows: its columns by priority (the narrowest terminal keeps the
first), the sorts it offers, and a recipient row's cells."""

from __future__ import annotations

from datetime import tzinfo

from rich.console import RenderableType
from rich.text import Text

from core.recipients import RecipientRow
from tui import format as fmt
from tui.screens.shared.sorting import Sort
from tui.widgets.table import Column

SORTS = (
    Sort("id", "added", None, False),
    Sort("sent_at", "sent", "sent_at", True),
    Sort("opened_at", "opened", "opened_at", True),
    Sort("clicked_at", "clicked", "clicked_at", True),
    Sort("replied_at", "replied", "replied_at", True),
    Sort("bounced_at", "bounced", "bounced_at", True),
    Sort("email_address", "email", "email_address", False),
)
# At 80 columns: email (35 wide: most addresses whole), status, sent, opened (clicks are on
# the timeline); at 120 clicked, bounced and the error too. The suppression mark rides on
# the status ("bounced ⊘") instead of a column of its own that is mostly empty.
COLUMNS = (
    Column("email_address", "Email", 30, priority=0, flex=True),
    Column("status", "Status", 13, priority=0),
    Column("sent_at", "Sent", 11, priority=1),
    Column("opened_at", "Opened", 11, priority=1),
    Column("clicked_at", "Clicked", 11, priority=1),
    Column("bounced_at", "Bounced", 11, priority=2),
    Column("error_message", "Error", 16, priority=2),
    Column("replied_at", "Replied", 11, priority=3),
)
SUPPRESSED_MARK = "⊘"


def status_cell(value: str, suppressed: bool) -> Text:
    """The status, with ⊘ when the address is on the suppression list (never mailed again)."""
    text = fmt.status(value)
    if suppressed:
        text.append(("" if len(text) >= 12 else " ") + SUPPRESSED_MARK, style="bold red")
    return text


def row_cells(r: RecipientRow, suppressed: bool, tz: tzinfo | None) -> dict[str, RenderableType]:
    return {
        "email_address": fmt.literal(r.email_address),
        "status": status_cell(r.status, suppressed),
        "sent_at": fmt.short_when(r.sent_at, tz),
        "opened_at": fmt.short_when(r.opened_at, tz),
        "clicked_at": fmt.short_when(r.clicked_at, tz),
        "replied_at": fmt.short_when(r.replied_at, tz),
        "bounced_at": fmt.short_when(r.bounced_at, tz),
        "error_message": fmt.literal(r.error_message or "", "red"),
    }
