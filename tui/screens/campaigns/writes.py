"""The campaigns screen's writes: new, edit, schedule, the lifecycle moves (those that can't be
undone ask first, with what they will do), duplicate, delete, add recipients, retry, recount.

Each runs in one transaction through core, in a worker (DataScreen.write), and says what it did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual import work

from core import campaigns, figures, messages, recipients
from core.campaigns import CampaignSummary, MovePreview
from core.local_time import zone_label
from tui import format as fmt
from tui.screens.campaigns.keys import CONFIRMED
from tui.screens.shared.base import DataScreen, WriteFinished
from tui.widgets.dialogs import (
    AddRecipientsDialog,
    CampaignFields,
    CampaignForm,
    ConfirmDialog,
    ReportDialog,
    ScheduleDialog,
)


class CampaignWrites(DataScreen):
    """The write actions of the campaigns screen (a part of CampaignsScreen)."""

    def selected(self) -> CampaignSummary | None:
        raise NotImplementedError

    def _saved(self, result: str | tuple[str, str] | None) -> None:
        """A form closed: say what it saved (None: cancelled); a (text, row key) pair also
        puts the cursor on that row once the rows are read again."""
        if result:
            text, select = result if isinstance(result, tuple) else (result, None)
            self.post_message(WriteFinished(text, select))

    def action_new(self) -> None:
        self.app.push_screen(CampaignForm("New campaign", save=_created), self._saved)

    def action_edit(self) -> None:
        c = self.selected()
        if not c:
            return

        def edit(session, fields: CampaignFields) -> str:
            return (
                "Saved "
                + campaigns.edit_campaign(
                    session, c.id, name=fields.name, template_id=fields.template_id
                ).campaign_id
            )

        form = CampaignForm(f"Edit {c.campaign_id}", c.name, c.template_id, save=edit)
        self.app.push_screen(form, self._saved)

    def action_schedule(self) -> None:
        c = self.selected()
        if not c:
            return
        now, tz = self.console.now(), self.console.tz
        default_at = c.scheduled_at or (now + timedelta(hours=1)).replace(
            minute=0, second=0, microsecond=0
        )

        def schedule(session, at: datetime) -> str:
            when = campaigns.schedule(session, c.id, at, now=self.console.now()).scheduled_at
            return (
                f"Scheduled {c.campaign_id} for {fmt.when(when, tz)} ({zone_label(tz, when or at)})"
            )

        dialog = ScheduleDialog(c.name, fmt.when(default_at, tz), tz, now, save=schedule)
        self.app.push_screen(dialog, self._saved)

    def action_unschedule(self) -> None:
        self.action_lifecycle("unschedule")

    def action_resume_paused(self) -> None:
        self.action_lifecycle("resume")

    def action_lifecycle(self, action: str) -> None:
        c = self.selected()
        if not c:
            return
        if action in CONFIRMED and action in campaigns.ALLOWED_MOVES[c.status]:
            self.ask_to_move(c.id, action)  # a move the status doesn't allow: core says why
        else:
            self._move(c.id, c.campaign_id, action)

    def _move(self, pk: int, campaign_id: str, action: str) -> None:
        def move(session) -> str:
            if action == "start":  # the template renders for the first recipient
                messages.check_renders(session, pk)
            return f"{campaign_id} is now {campaigns.transition(session, pk, action).status}"

        self.write(move)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ask")
    def ask_to_move(self, pk: int, action: str) -> None:
        with self.db.reading() as session:
            preview = campaigns.move_preview(session, pk, action)
        self.app.call_from_thread(self._confirm_move, preview)

    def _confirm_move(self, preview: MovePreview) -> None:
        c = preview.campaign
        if preview.action == "start" and not c.total_recipients:
            self._move(c.id, c.campaign_id, "start")  # nothing to ask: core refuses, says why
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._move(c.id, c.campaign_id, preview.action)

        label = {"start": "Start", "complete": "Complete", "fail": "Fail"}[preview.action]
        dialog = ConfirmDialog(move_question(preview), confirm_label=label, focus_confirm=True)
        self.app.push_screen(dialog, answered)

    def action_duplicate(self) -> None:
        c = self.selected()
        if c:
            self.write(lambda s: recipients.duplicate_campaign(s, c.id).describe())

    def action_delete(self) -> None:
        c = self.selected()
        if not c:
            return
        question = Text.assemble(
            "Delete campaign ",
            fmt.literal(c.name, "bold"),
            f" ({c.campaign_id}) and its {fmt.plural(c.total_recipients, 'recipient')}",
            " with all their events? This can't be undone.",
        )

        def delete(yes: bool | None) -> None:
            if yes:
                self.write(
                    lambda s: (
                        f"Deleted {c.campaign_id} and "
                        + fmt.plural(campaigns.delete_campaign(s, c.id), "recipient")
                    )
                )

        self.app.push_screen(ConfirmDialog(question), delete)

    def action_add_recipients(self) -> None:
        c = self.selected()
        if not c:
            return

        def add(session, choice: tuple[str, str]) -> tuple[str, list[str]]:
            kind, path = choice
            if kind == "all":
                return _added_text(recipients.add_leads(session, c.id)), []
            result = recipients.import_csv(session, c.id, path)
            return _imported_text(result), _refused_lines(result)

        def added(outcome: tuple[str, list[str]] | None) -> None:
            if outcome is None:
                return
            text, refused = outcome
            self._saved(text)
            if refused:
                title = Text.assemble("Imported into ", fmt.literal(c.name, "bold"))
                heading = "Refused, by line number (nothing of these was imported):"
                self.app.push_screen(ReportDialog(title, text, heading, refused))

        self.app.push_screen(AddRecipientsDialog(c.name, save=add), added)

    def action_retry_failed(self) -> None:
        c = self.selected()
        if c:
            self.write(
                lambda s: (
                    f"{fmt.plural(recipients.retry_failed(s, c.id), 'failed recipient')} of "
                    f"{c.campaign_id} back to pending"
                )
            )

    def action_recount(self) -> None:
        c = self.selected()
        if c:
            self.write(lambda s: _recount_text(figures.recount(s, c.id), c.campaign_id))


def move_question(preview: MovePreview) -> Text:
    """What a confirmed move will do, with the campaign's id and name."""
    c, action = preview.campaign, preview.action
    who = Text.assemble(fmt.literal(c.campaign_id, "bold"), " '", fmt.literal(c.name), "'")
    unsent = (
        f"{_recipients(preview.not_sent)} not yet sent will never be."
        if preview.not_sent
        else "Every recipient was sent."
    )
    if action == "start":
        return Text.assemble(
            "Start ",
            who,
            f": send to {_recipients(preview.pending)}? Suppressed addresses are skipped.\n\n",
            "Nothing in this program sends mail yet: run ",
            Text(f"campaigns simulate {c.campaign_id}", style="bold"),
            " to simulate a sender (the background simulator runs the demo's campaigns only).",
        )
    verb = "Complete " if action == "complete" else "Fail "
    stop = "" if action == "complete" else " Sending stops for good."
    return Text.assemble(verb, who, f":{stop} {unsent} This can't be undone.")


def _recipients(n: int) -> str:
    return f"{n:,} recipient" + ("" if n == 1 else "s")


def _created(session, fields: CampaignFields) -> tuple[str, str]:
    """Create the campaign; the notification, and its row key to select once it is listed."""
    c = campaigns.create_campaign(session, name=fields.name, template_id=fields.template_id)
    return f"Created {c.campaign_id}", str(c.id)


def _added_text(result) -> str:
    text = f"Added {result.added:,} recipients"
    if result.skipped_duplicates:
        text += f"; {result.skipped_duplicates:,} were already in the campaign"
    if result.skipped_suppressed:
        text += f"; {result.skipped_suppressed:,} suppressed (bounced, complained, unsubscribed)"
    return text


def _imported_text(result) -> str:
    text = f"Imported {result.added:,} recipients ({result.created_leads:,} new leads)"
    if result.skipped_duplicates:
        text += f"; {result.skipped_duplicates:,} already there"
    if result.skipped_suppressed:
        text += f"; {result.skipped_suppressed:,} suppressed"
    if result.errors:
        text += f"; {len(result.errors):,} lines refused"
    return text


def _refused_lines(result) -> list[str]:
    """Every line of the file that was not imported, as the CLI lists them."""
    return [f"line {e.line}: {e.reason}: {e.value!r}" for e in result.errors]


def _recount_text(drifts, campaign_id: str) -> str:
    if not drifts:
        return f"Counters of {campaign_id} were right; nothing to repair"
    fixed = ", ".join(f"{d.counter} {d.stored:,}→{d.actual:,}" for d in drifts)
    return f"Repaired {campaign_id}: {fixed}"
