"""Modal dialogs: confirm, campaign form, schedule, add recipients. Enter submits.

The forms are FormDialogs: they save through core in a worker and close only when the save
succeeded; a refusal shows in the form with the input kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from core import config, messages
from core.errors import CampaignConsoleError
from core.local_time import FORMAT, example_time, parse_time, zone_label
from core.store import explain
from tui import format as fmt
from tui.context import console_of
from tui.format import error_text

CANCEL = Binding("escape", "cancel", "Cancel", id="dialogs.cancel", tooltip="Close without changes")


class Dialog(ModalScreen):
    BINDINGS = [CANCEL]
    DEFAULT_CLASSES = "dialog"

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_problem(self, text: str) -> None:
        self.query_one("#problem", Static).update(Text(text, style="bold red"))

    def failure_text(self, error: BaseException) -> str:
        """What a failed worker's error says, in the words the app uses, secrets masked."""
        url = console_of(self).database.url
        return config.mask_secrets(error_text(explain(error, url) or error), url)


class ConfirmDialog(Dialog):
    """Yes/no with the question spelled out; `y` confirms, `n` or Escape cancels."""

    BINDINGS = [
        Binding("y", "confirm", "Yes", id="dialogs.yes", tooltip="Confirm"),
        Binding("n", "cancel", "No", id="dialogs.no", tooltip="Cancel"),
        CANCEL,
    ]

    def __init__(
        self, question: Text | str, confirm_label: str = "Delete", *, focus_confirm: bool = False
    ) -> None:
        super().__init__()
        self.question = question if isinstance(question, Text) else Text(question)
        self.confirm_label = confirm_label
        self.focus_confirm = focus_confirm  # Enter confirms; else Enter cancels

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="error", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes" if self.focus_confirm else "#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(None)


class FormDialog(Dialog):
    """A form that saves through core and closes only once the save committed.

    `save(session, values)` runs in a worker, in one transaction; what it returns is what the
    dialog dismisses with. Subclasses read and check their fields in `values()` (raising a
    core.errors exception or ValueError to refuse) and call `submit()` on Enter. A refusal,
    before or by the save, shows in the dialog (#problem) and every field keeps its text.
    """

    @dataclass
    class Saved(Message):
        result: Any

    def __init__(self, save: Callable[[Any, Any], Any]) -> None:
        super().__init__()
        self.save = save
        self.saving: Worker | None = None

    def values(self) -> Any:
        raise NotImplementedError

    def submit(self) -> None:
        if self.saving is not None:
            return  # one save at a time: a second Enter while it runs does nothing
        try:
            values = self.values()
        except (CampaignConsoleError, ValueError) as exc:
            self.show_problem(str(exc))
            return
        self.query_one("#problem", Static).update(Text("saving…"))
        self.saving = self._save(values)

    @work(thread=True, exit_on_error=False, group="form")
    def _save(self, values: Any) -> None:
        self.post_message(self.Saved(console_of(self).database.run(lambda s: self.save(s, values))))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self.saving = None
        self.dismiss(message.result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.saving or event.state is not WorkerState.ERROR:
            return
        self.saving = None
        error = event.worker.error
        self.show_problem(self.failure_text(error) if error else "Not saved.")


@dataclass(frozen=True)
class CampaignFields:
    name: str
    template_id: int | None


class CampaignForm(FormDialog):
    """Name and template (picked from the list of templates), for a new campaign or an edit;
    `save(session, CampaignFields)`."""

    @dataclass
    class TemplatesRead(Message):
        options: list[tuple[str, int]]

    def __init__(
        self,
        title: str,
        name: str = "",
        template_id: int | None = None,
        *,
        save: Callable[[Any, CampaignFields], Any],
    ) -> None:
        super().__init__(save)
        self.title_text = title
        self.initial_name = name
        self.initial_template = template_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Label("Name")
            # No max_length: the Input would drop keys past it silently; core refuses a name
            # that is too long with its length (core.campaigns.manage.clean_name).
            yield Input(self.initial_name, id="name")
            yield Label("Template")
            yield Select[int]([], prompt="(no template)", id="template")
            yield Static("", id="problem")
            yield Label("Enter: save   Escape: cancel", classes="hint")

    def on_mount(self) -> None:
        self._read_templates()

    @work(thread=True, exclusive=True, exit_on_error=False, group="templates")
    def _read_templates(self) -> None:
        with console_of(self).database.reading() as session:
            rows = messages.list_templates(session)
        self.post_message(self.TemplatesRead([(f"{t.name} ({t.id})", t.id) for t in rows]))

    @on(TemplatesRead)
    def _templates_read(self, message: TemplatesRead) -> None:
        options = list(message.options)
        known = {value for _, value in options}
        chosen = self.initial_template
        if chosen is not None and chosen not in known:  # an id no template has (seed data)
            options.append((f"id {chosen} (no such template)", chosen))
        select = self.query_one("#template", Select)
        select.set_options(options)
        if chosen is not None:
            select.value = chosen

    def values(self) -> CampaignFields:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.query_one("#name", Input).focus()
            raise ValueError("A campaign needs a name.")
        value = self.query_one("#template", Select).value
        return CampaignFields(name, value if isinstance(value, int) else None)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.submit()

    @on(Select.Changed)
    def _picked(self) -> None:
        self.query_one("#name", Input).focus()  # Enter then saves


class ScheduleDialog(FormDialog):
    """When to send, as typed; a time without a zone is in the zone the form names (the app's
    display zone). `save(session, datetime)`."""

    def __init__(
        self,
        campaign_name: str,
        default: str,
        tz: tzinfo | None,
        now: datetime,
        *,
        save: Callable[[Any, datetime], Any],
    ) -> None:
        super().__init__(save)
        self.campaign_name = campaign_name
        self.default = default
        self.tz = tz
        self.example = fmt.when(example_time(now, tz), tz)
        self.zone = zone_label(tz, now)

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(
                Text.assemble("Schedule ", fmt.literal(self.campaign_name, "bold")),
                classes="title",
            )
            yield Label(f"Send at ({FORMAT}, {self.zone})")
            yield Input(self.default, id="when", placeholder=f"e.g. {self.example}")
            yield Static("", id="problem")
            yield Static(
                f"e.g. {self.example} (tomorrow 09:00); for another zone add Z or an offset"
                f" (like {self.example}+05:30)\nEnter: schedule   Escape: cancel",
                classes="hint",
                markup=False,
            )

    def values(self) -> datetime:
        return parse_time(self.query_one("#when", Input).value, self.tz)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.submit()


class AddRecipientsDialog(FormDialog):
    """A CSV path to import (`~` is the home directory), or empty for every lead.
    `save(session, ("csv", path) or ("all", ""))`."""

    def __init__(self, campaign_name: str, *, save: Callable[[Any, tuple[str, str]], Any]):
        super().__init__(save)
        self.campaign_name = campaign_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(
                Text.assemble("Add recipients to ", fmt.literal(self.campaign_name, "bold")),
                classes="title",
            )
            yield Label("CSV file (email[,name,company]); leave empty to add all leads")
            yield Input("", id="path", placeholder="~/recipients.csv")
            yield Static("", id="problem")
            yield Label("Enter: add   Escape: cancel", classes="hint")

    def values(self) -> tuple[str, str]:
        path = self.query_one("#path", Input).value.strip()
        return ("csv", os.path.expanduser(path)) if path else ("all", "")

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.submit()


class AddressDialog(FormDialog):
    """An email address to show something for (a recipient to preview a template with).
    `save(session, address)`."""

    def __init__(self, title: str, default: str = "", *, save: Callable[[Any, str], Any]):
        super().__init__(save)
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Label("Recipient's email address")
            yield Input(self.default, id="address", placeholder="jane@example.com")
            yield Static("", id="problem")
            yield Label("Enter: show   Escape: cancel", classes="hint")

    def values(self) -> str:
        address = self.query_one("#address", Input).value.strip()
        if not address:
            raise ValueError("Type a recipient's email address.")
        return address

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.submit()


class ReportDialog(Dialog):
    """What a command did, with every line it has to report in a scrolling list (all of them,
    wrapped to the width: nothing is left out or cut). Enter or Escape closes."""

    BINDINGS = [
        Binding("enter", "cancel", "Close", id="dialogs.close_report", tooltip="Close the report"),
        CANCEL,
    ]
    DEFAULT_CSS = """
    ReportDialog #report-lines {
        height: auto;
        max-height: 12;
        border: tall $border-blurred;
    }
    ReportDialog #report-lines:focus {
        border: tall $border;
    }
    """

    def __init__(self, title: Text | str, summary: str, heading: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text, self.summary, self.heading = title, summary, heading
        self.lines = [fmt.clean(line) for line in lines]  # from outside: never raw escapes

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Static(Text(self.summary), id="summary")
            yield Label(self.heading)
            with VerticalScroll(id="report-lines"):
                yield Static(Text("\n".join(self.lines)), id="lines")
            yield Label("↑↓ PgUp PgDn: scroll   Enter or Escape: close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#report-lines").focus()
