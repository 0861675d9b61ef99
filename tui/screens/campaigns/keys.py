"""The campaigns screen's keys: every binding, with its id (`campaigns.<what>`, the name
keys.toml rebinds) and its tooltip, and which of them write (hidden in a read-only session)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from core.store import CampaignStatus
from tui.screens.shared.navigation import page_bindings, status_bindings

BINDINGS: list[BindingType] = [
    Binding("enter", "open", "Open", id="campaigns.open", tooltip="Recipients of this campaign"),
    Binding(
        "slash",
        "search",
        "Search",
        id="campaigns.search",
        tooltip="Search by part of the name or the start of the id",
    ),
    Binding("o", "pick_sort", "Sort", id="campaigns.sort", tooltip="Pick the sort"),
    Binding("O", "flip_sort", "Flip", show=False, id="campaigns.flip", tooltip="Reverse sort"),
    *status_bindings("campaigns", CampaignStatus, "campaigns"),
    *page_bindings("campaigns", "campaigns", show=False, labels=("Next page", "Prev page")),
    Binding("n", "new", "New", id="campaigns.new", tooltip="Create a campaign"),
    Binding("e", "edit", "Edit", show=False, id="campaigns.edit", tooltip="Rename, template"),
    Binding(
        "t",
        "schedule",
        "Schedule",
        show=False,
        id="campaigns.schedule",
        tooltip="Schedule for a time",
    ),
    Binding(
        "s", "lifecycle('start')", "Start", id="campaigns.start", tooltip="Start sending (asks)"
    ),
    # On a paused campaign `s` resumes, and the footer says so (check_action picks one).
    Binding(
        "s",
        "resume_paused",
        "Resume",
        id="campaigns.start_resumes",
        tooltip="Resume sending this paused campaign",
    ),
    Binding("p", "lifecycle('pause')", "Pause", id="campaigns.pause", tooltip="Pause sending"),
    Binding(
        "r",
        "lifecycle('resume')",
        "Resume",
        show=False,
        id="campaigns.resume",
        tooltip="Resume a paused campaign",
    ),
    Binding(
        "c",
        "lifecycle('complete')",
        "Complete",
        show=False,
        id="campaigns.complete",
        tooltip="Mark completed, final (asks)",
    ),
    Binding(
        "X",
        "lifecycle('fail')",
        "Fail",
        show=False,
        id="campaigns.fail",
        tooltip="Mark failed, final (asks)",
    ),
    Binding(
        "u",
        "unschedule",
        "Unschedule",
        show=False,
        id="campaigns.unschedule",
        tooltip="Back to draft",
    ),
    Binding(
        "y",
        "duplicate",
        "Duplicate",
        show=False,
        id="campaigns.duplicate",
        tooltip="Copy as a new draft with the same recipients, suppressed left out",
    ),
    Binding(
        "d",
        "delete",
        "Delete",
        show=False,
        id="campaigns.delete",
        tooltip="Delete with its recipients (asks first)",
    ),
    Binding(
        "a",
        "add_recipients",
        "Add recips",
        show=False,
        id="campaigns.add",
        tooltip="Add all leads or a CSV file",
    ),
    Binding(
        "R",
        "retry_failed",
        "Retry failed",
        show=False,
        id="campaigns.retry",
        tooltip="Failed recipients back to pending",
    ),
    Binding(
        "C",
        "recount",
        "Recount",
        show=False,
        id="campaigns.recount",
        tooltip="Recompute counters from recipient rows",
    ),
    Binding(
        "escape",
        "clear_filter",
        "Clear",
        show=False,
        id="campaigns.clear",
        tooltip="Clear search and status filter",
    ),
    Binding(
        "A",
        "analytics",
        "Analytics",
        show=False,
        id="campaigns.analytics",
        tooltip="Rates, human opens, links, bounces, activity",
    ),
    Binding("x", "export", "Export", show=False, id="campaigns.export", tooltip="Export to a file"),
    Binding("q", "app.quit", "Quit", id="campaigns.quit", tooltip="Quit Campaign Console"),
]

WRITE_ACTIONS = frozenset(
    {
        "new",
        "edit",
        "schedule",
        "duplicate",
        "delete",
        "add_recipients",
        "retry_failed",
        "recount",
        "unschedule",
        "lifecycle",
        "resume_paused",
    }
)
# Moves that can't be undone, or that send mail: each asks first, with what it will do.
CONFIRMED = ("start", "complete", "fail")
