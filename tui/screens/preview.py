"""A template's message rendered for one recipient, as it would be sent: the headers, the text
part, and the HTML part as readable text with its links listed (the tracked URL and where it
leads). `r` renders it for another recipient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Header, Static

from core import messages
from core.messages import Preview
from tui import format as fmt
from tui.screens.shared.base import DataScreen
from tui.widgets.dialogs import AddressDialog
from tui.widgets.footer import Footer


@dataclass(frozen=True)
class Shown:
    email: str
    campaign_pk: int
    preview: Preview


class PreviewScreen(DataScreen):
    READS = "the preview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="preview.back", tooltip="Back to the templates"),
        Binding(
            "r",
            "recipient",
            "Recipient",
            id="preview.recipient",
            tooltip="Render it for another recipient",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            show=False,
            id="preview.refresh",
            tooltip="Render it again",
        ),
    ]

    @dataclass
    class Rendered(Message):
        shown: Shown | None

    def __init__(self, template_id: int, template_name: str = "") -> None:
        super().__init__()
        self.template_id = template_id
        self.template_name = template_name
        self.email: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("rendering…", id="status-line", classes="status-line")
        with VerticalScroll(id="preview-body"):
            yield Static("", id="preview-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"preview of {self.template_name or self.template_id}"
        self.query_one("#preview-body").focus()
        self.reload()

    def reload(self) -> None:
        self.render_for(self.email)

    def action_refresh(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="read")
    def render_for(self, email: str | None) -> None:
        def render(session) -> Shown | None:
            if email is None:
                sample = messages.sample_recipient(session, self.template_id)
                if sample is None:
                    return None
                pk, address = sample
            else:
                pk, address = messages.campaign_for(session, self.template_id, email), email
            shown = messages.preview(
                session, pk, address, template=self.template_id, now=self.console.now()
            )
            return Shown(address, pk, shown)

        self.post_message(self.Rendered(self.db.run(render)))

    @on(Rendered)
    def show(self, message: Rendered) -> None:
        if self.pacer.running:
            self.pacer.done()
        status = self.query_one("#status-line", Static)
        body = self.query_one("#preview-text", Static)
        shown = message.shown
        if shown is None:
            status.update(Text("no recipient to render it for", style="bold"))
            body.update(Text("Add recipients to a campaign first; r picks an address."))
            return
        self.email = shown.email
        p = shown.preview
        status.update(
            Text.assemble(
                Text("for ", style="bold"),
                fmt.literal(shown.email, "bold"),
                f" · {fmt.plural(len(p.links), 'link')} · {p.size:,} bytes · r: recipient",
            )
        )
        body.update(preview_text(p))

    def action_recipient(self) -> None:
        def check(session, address: str) -> str:
            messages.campaign_for(session, self.template_id, address)  # NotFound: said here
            return address

        def chosen(address: str | None) -> None:
            if address:
                self.email = address
                self.reload()

        dialog = AddressDialog("Preview for", self.email or "", save=check)
        self.app.push_screen(dialog, chosen)


def preview_text(p: Preview) -> Text:
    """The headers, the text part, the HTML as text and its links, all shown literally."""
    out = Text()
    out.append("Headers\n", style="bold underline")
    for name, value in p.headers:
        out.append(f"{name}: ", style="bold")
        out.append_text(fmt.literal(value))
        out.append("\n")
    out.append("\nText part\n", style="bold underline")
    out.append_text(fmt.literal_block(p.text.rstrip("\n")))
    out.append("\n\nHTML part, as text\n", style="bold underline")
    out.append_text(fmt.literal_block(p.html_text))
    out.append("\n\nLinks\n", style="bold underline")
    for n, (url, target) in enumerate(p.links, 1):
        out.append(f"[{n}] ", style="bold")
        out.append_text(fmt.literal(target))
        if target != url:
            out.append("\n    via ", style="dim")
            out.append_text(fmt.literal(url, "dim"))
        out.append("\n")
    if not p.links:
        out.append("(none)\n", style="dim")
    return out
