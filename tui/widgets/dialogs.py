"""Modal dialogs: confirm, campaign form, schedule, add recipients. Enter submits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changes")


class Dialog(ModalScreen):
    BINDINGS = [CANCEL]
    DEFAULT_CLASSES = "dialog"

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_problem(self, text: str) -> None:
        self.query_one("#problem", Static).update(Text(text, style="bold red"))


class ConfirmDialog(Dialog):
    """Yes/no with the question spelled out; `y` confirms, `n` or Escape cancels."""

    BINDINGS = [
        Binding("y", "confirm", "Yes", id="dialog.yes", tooltip="Confirm"),
        Binding("n", "cancel", "No", id="dialog.no", tooltip="Cancel"),
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


@dataclass(frozen=True)
class CampaignFields:
    name: str
    template_id: int | None


class CampaignForm(Dialog):
    """Name and template id, for a new campaign or an edit."""

    def __init__(self, title: str, name: str = "", template_id: int | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.initial = (name, "" if template_id is None else str(template_id))

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Label("Name")
            yield Input(self.initial[0], id="name", max_length=255)
            yield Label("Template id (optional, a whole number)")
            yield Input(self.initial[1], id="template", type="integer")
            yield Static("", id="problem")
            yield Label("Enter: save   Escape: cancel", classes="hint")

    @on(Input.Submitted)
    def submit(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        template = self.query_one("#template", Input).value.strip()
        if not name:
            self.show_problem("A campaign needs a name.")
            self.query_one("#name", Input).focus()
            return
        try:
            template_id = int(template) if template else None
        except ValueError:
            self.show_problem("Template id must be a whole number.")
            return
        self.dismiss(CampaignFields(name, template_id))


def parse_local_time(text: str, tz: tzinfo | None) -> datetime:
    """'2026-12-01 09:30' (or with seconds, or ISO with a zone) as an aware datetime."""
    text = text.strip().replace("T", " ")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("Write the time as YYYY-MM-DD HH:MM, e.g. 2026-12-01 09:30.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz) if tz else value.astimezone()
    return value


class ScheduleDialog(Dialog):
    def __init__(self, campaign_name: str, default: str, tz: tzinfo | None) -> None:
        super().__init__()
        self.campaign_name = campaign_name
        self.default = default
        self.tz = tz

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(Text.assemble("Schedule ", (self.campaign_name, "bold")), classes="title")
            zone = datetime.now(self.tz).astimezone(self.tz).tzname()
            yield Label(f"Send at (YYYY-MM-DD HH:MM, {zone})")
            yield Input(self.default, id="when")
            yield Static("", id="problem")
            yield Label("Enter: schedule   Escape: cancel", classes="hint")

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(parse_local_time(event.value, self.tz))
        except ValueError as exc:
            self.show_problem(str(exc))


class AddRecipientsDialog(Dialog):
    """A CSV path to import, or empty for every lead."""

    def __init__(self, campaign_name: str) -> None:
        super().__init__()
        self.campaign_name = campaign_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(
                Text.assemble("Add recipients to ", (self.campaign_name, "bold")), classes="title"
            )
            yield Label("CSV file (email[,name,company]); leave empty to add all leads")
            yield Input("", id="path", placeholder="/path/to/recipients.csv")
            yield Static("", id="problem")
            yield Label("Enter: add   Escape: cancel", classes="hint")

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        self.dismiss(("csv", event.value.strip()) if event.value.strip() else ("all", ""))
