"""Templates: the list (name, subject, how many campaigns use it), new and edit in the user's
editor ($VISUAL/$EDITOR: the app suspends, the file holds the subject and the body, an error
reopens it with the message at the top), delete (asks first), and the preview of a template
rendered for a recipient (tui.screens.preview, through the app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from core import messages
from core.messages import TemplateListing, TemplateRow
from tui import editor
from tui import format as fmt
from tui.messages import OpenPreview
from tui.screens.shared.base import DataScreen, WriteFinished
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.footer import Footer
from tui.widgets.table import Column, ResponsiveTable
from tui.widgets.trial_dialog import open_test_message

COLUMNS = (
    Column("name", "Name", 16, priority=0, flex=True),
    Column("subject", "Subject", 20, priority=1, flex=True),
    Column("campaigns", "Campaigns", 9, priority=0, right=True),
    Column("updated_at", "Updated", 11, priority=2),
    Column("id", "Id", 5, priority=3, right=True),
)


class TemplatesScreen(DataScreen):
    READS = "templates"
    WRITE_ACTIONS = frozenset({"new", "edit", "delete"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="templates.back", tooltip="Back"),
        Binding(
            "enter", "preview", "Preview", id="templates.preview", tooltip="The message, rendered"
        ),
        Binding("n", "new", "New", id="templates.new", tooltip="Write a new template in $EDITOR"),
        Binding("e", "edit", "Edit", id="templates.edit", tooltip="Edit it in $VISUAL/$EDITOR"),
        Binding("d", "delete", "Delete", id="templates.delete", tooltip="Delete it (asks first)"),
        Binding(
            "T",
            "test_message",
            "Test",
            show=False,
            id="templates.test_message",
            tooltip="Send it once to an address of yours, as the preview renders it",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            show=False,
            id="templates.refresh",
            tooltip="Fetch the list again",
        ),
    ]

    @dataclass
    class TemplatesFetched(Message):
        rows: tuple[TemplateListing, ...]

    @dataclass
    class TemplateFetched(Message):
        row: TemplateRow

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, TemplateListing] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="status-line", classes="status-line")
        yield ResponsiveTable(COLUMNS, id="templates")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "templates"
        self.table.focus()
        self.reload()

    @property
    def table(self) -> ResponsiveTable:
        return self.query_one("#templates", ResponsiveTable)

    # -- reading ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.fetch()

    def action_refresh(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="read")
    def fetch(self) -> None:
        with self.db.reading() as session:
            rows = messages.list_templates(session)
        self.post_message(self.TemplatesFetched(rows))

    @on(TemplatesFetched)
    def show(self, message: TemplatesFetched) -> None:
        if self.pacer.running:
            self.pacer.done()
        tz = self.console.tz
        self.rows = {str(t.id): t for t in message.rows}
        self.table.show_rows(
            [
                (
                    str(t.id),
                    {
                        "name": fmt.literal(t.name),
                        "subject": fmt.literal(t.subject),
                        "campaigns": str(t.campaigns),
                        "updated_at": fmt.short_when(t.updated_at, tz),
                        "id": str(t.id),
                    },
                )
                for t in message.rows
            ]
        )
        if self.select_after_reload:
            self.table.select_key(self.select_after_reload)
            self.select_after_reload = None
        count = len(message.rows)
        head = Text(fmt.plural(count, "template") if count else "no templates yet", "bold")
        parts = [head, Text("n: new · e: edit · Enter: preview", style="dim")]
        if self.read_only:
            parts.append(Text("read-only", style="bold yellow"))
        self.query_one("#status-line", Static).update(Text(" · ").join(parts))

    def selected(self) -> TemplateListing | None:
        key = self.table.current_key()
        row = self.rows.get(key) if key else None
        if row is None:
            self.notify("No template selected.", severity="warning")
        return row

    # -- preview ---------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#templates")
    def action_preview(self) -> None:
        if not self.on_top():
            return  # a burst of keys: this screen was closed meanwhile
        t = self.selected()
        if t is not None:
            self.drill_down(OpenPreview(self, t.id, t.name))

    def action_test_message(self) -> None:
        t = self.selected()
        if t is not None:
            open_test_message(self, None, t.name, template=t.id)

    # -- editing ---------------------------------------------------------------------------
    def action_new(self) -> None:
        self._edit(None, messages.NEW_FILE)

    def action_edit(self) -> None:
        t = self.selected()
        if t is not None:
            self.read_template(t.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="read")
    def read_template(self, template_id: int) -> None:
        with self.db.reading() as session:
            row = messages.get_template(session, template_id)
        self.post_message(self.TemplateFetched(row))

    @on(TemplateFetched)
    def _fetched(self, message: TemplateFetched) -> None:
        self._edit(message.row.id, messages.file_of(message.row))

    def _edit(self, template_id: int | None, content: str) -> None:
        """The editor on the file; each save is checked and written through core while the
        app is suspended (the terminal is the editor's), an error reopening it."""

        def accept(text: str) -> TemplateRow:
            f = messages.parse_file(text)
            return self.db.run(lambda s: messages.save_file(s, template_id, f))

        try:
            try:
                with self.app.suspend():
                    saved = editor.edit(content, accept)
            except SuspendNotSupported:  # headless (tests) or a web tab: run it as it is
                saved = editor.edit(content, accept)
        except Exception as exc:
            self.console.report_error(exc)
            return
        if saved is None:
            self.notify("Nothing saved.")
            return
        verb = "Added" if template_id is None else "Saved"
        self.post_message(WriteFinished(f"{verb} template {saved.name}", str(saved.id)))

    def action_delete(self) -> None:
        t = self.selected()
        if t is None:
            return
        used = f" {fmt.plural(t.campaigns, 'campaign')} name it;" if t.campaigns else ""
        question = Text.assemble(
            "Delete template ",
            fmt.literal(t.name, "bold"),
            f"?{used} one that has not finished keeps it from being deleted.",
        )

        def delete(yes: bool | None) -> None:
            if yes:
                self.write(lambda s: f"Deleted template {messages.delete_template(s, t.id).name}")

        self.app.push_screen(ConfirmDialog(question), delete)
