"""Export one campaign's recipients, events, link table or stats to a file, with progress.

The rows go to PATH.partial first and the file takes its name only when complete, so a reader
never sees half an export and a failed or cancelled one leaves nothing behind. An existing
file is replaced only after a confirmation; one that appears while the export runs is left
alone (the finished file is linked into place, which refuses to overwrite).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Label, ProgressBar, RadioSet, Static
from textual.worker import Worker, WorkerState, get_current_worker

from core import config, figures
from core.errors import Conflict
from tui import format as fmt
from tui.context import console_of
from tui.format import error_text
from tui.widgets.choices import ChoiceSet
from tui.widgets.dialogs import ConfirmDialog, Dialog

WHATS = figures.WHATS  # recipients, events, links, stats
FORMATS = figures.FORMATS  # csv, json, jsonl: whatever core writes
FORMAT_LABELS = {"csv": "CSV", "json": "JSON", "jsonl": "JSON lines"}


class ExportCancelled(Exception):
    """Raised inside the export when the dialog was closed; the partial file is removed."""


@dataclass(frozen=True, slots=True)
class ExportJob:
    path: str  # absolute
    what: str
    fmt: str
    overwrite: bool


@dataclass(frozen=True, slots=True)
class ExportDone:
    path: str
    what: str
    rows: int


def default_name(campaign_id: str, what: str, fmt_: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", campaign_id).strip("._") or "campaign"
    return f"{safe}-{what}.{fmt_}"


def resolve_path(text: str) -> str:
    return os.path.abspath(os.path.expanduser(text.strip()))


def path_problem(path: str) -> str | None:
    """Why nothing can be written at `path`, or None."""
    if os.path.isdir(path):
        return f"{path} is a directory: name a file in it."
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        return f"There is no directory {directory}."
    if not os.access(directory, os.W_OK):
        return f"Can't write in {directory} (permission denied)."
    return None


def publish(partial: str, path: str, overwrite: bool) -> None:
    """Give the finished file its name; without `overwrite`, never replace a file."""
    if overwrite:
        os.replace(partial, path)
        return
    try:
        os.link(partial, path)  # fails if the path exists: no check-then-replace race
    except FileExistsError:
        raise Conflict(
            f"{path} appeared while the export ran; it was left alone. Export again to replace it."
        ) from None
    except OSError:  # a file system without hard links
        if os.path.exists(path):
            raise Conflict(f"{path} appeared while the export ran; it was left alone.") from None
        os.replace(partial, path)
        return
    os.unlink(partial)


class ExportDialog(Dialog):
    """What, format and file, in that order from the first choice on: Enter on a choice picks
    it and moves on, Enter in the file box (or the Export button) exports. Dismisses with an
    ExportDone, or None."""

    DEFAULT_CSS = """
    ExportDialog RadioSet, ExportDialog Input {
        border-title-color: $text;
    }
    ExportDialog Input {
        width: 100%;
    }
    ExportDialog #progress {
        margin-top: 1;
    }
    ExportDialog .buttons, ExportDialog .hint {
        margin-top: 0;
    }
    """

    @dataclass
    class ExportProgressed(Message):
        done: int
        total: int | None

    @dataclass
    class ExportFinished(Message):
        result: ExportDone

    def __init__(self, campaign_pk: int, campaign_id: str, campaign_name: str = "") -> None:
        super().__init__()
        self.campaign_pk = campaign_pk
        self.campaign_id = campaign_id
        self.campaign_name = campaign_name
        self.what, self.fmt = WHATS[0], FORMATS[0]
        self.auto_path = default_name(campaign_id, self.what, self.fmt)
        self.running: Worker | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(
                Text.assemble(
                    "Export ", fmt.literal(self.campaign_name or self.campaign_id, "bold")
                ),
                classes="title",
            )
            yield ChoiceSet([(w, w) for w in WHATS], self.what, id="what")
            formats = [(f, FORMAT_LABELS.get(f, f.upper())) for f in FORMATS]
            yield ChoiceSet(formats, self.fmt, id="format")
            yield Input(self.auto_path, id="path", placeholder="file to write (~ for home)")
            yield ProgressBar(id="progress", show_eta=False)
            yield Static("", id="problem")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel (esc)", id="cancel")
            yield Label("Enter: pick and go on · Enter in File: export · Tab: next", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#what", RadioSet).border_title = "What"
        self.query_one("#format", RadioSet).border_title = "Format"
        self.query_one("#path", Input).border_title = "File"
        self.query_one("#progress").display = False
        self.query_one("#what", ChoiceSet).focus()

    # -- the form --------------------------------------------------------------------------
    @on(RadioSet.Changed)
    def _choice(self) -> None:
        self._read_choices()

    def _read_choices(self) -> None:
        """Take what and format from the choice sets; the file name follows them unless the
        user typed a name of their own."""
        self.what = self.query_one("#what", ChoiceSet).value
        self.fmt = self.query_one("#format", ChoiceSet).value
        box = self.query_one("#path", Input)
        if box.value == self.auto_path:
            box.value = self.auto_path = default_name(self.campaign_id, self.what, self.fmt)
        else:
            self.auto_path = default_name(self.campaign_id, self.what, self.fmt)

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#export")
    def submit(self) -> None:
        if self.running is not None:
            return
        self._read_choices()  # a key that picked a choice may be ahead of its Changed message
        text = self.query_one("#path", Input).value
        if not text.strip():
            self.show_problem("Name the file to write.")
            return
        path = resolve_path(text)
        problem = path_problem(path)
        if problem:
            self.show_problem(problem)
            return
        job = ExportJob(path, self.what, self.fmt, overwrite=False)
        if not os.path.exists(path):
            self.start(job)
            return
        question = Text.assemble(
            fmt.literal(path, "bold"), " already exists. Replace it with this export?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.start(ExportJob(path, self.what, self.fmt, overwrite=True))
            else:
                self.show_problem("Not replaced: choose another file name.")
                self.query_one("#path", Input).focus()

        self.app.push_screen(ConfirmDialog(question, confirm_label="Replace"), answered)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.running is not None:
            self.running.cancel()
            self.notify("Export cancelled; nothing was written.", markup=False)
        self.dismiss(None)

    # -- running ---------------------------------------------------------------------------
    def start(self, job: ExportJob) -> None:
        for widget in self.query("RadioSet, Input, #export"):
            widget.disabled = True
        self.query_one("#progress", ProgressBar).display = True
        self.query_one("#problem", Static).update(Text(f"exporting {job.what}…"))
        self.running = self.export(job)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def export(self, job: ExportJob) -> None:
        worker = get_current_worker()
        partial = job.path + ".partial"

        def progress(done: int, total: int | None) -> None:
            if worker.is_cancelled:
                raise ExportCancelled
            self.post_message(self.ExportProgressed(done, total))

        try:
            with (
                open(partial, "w", newline="", encoding="utf-8") as out,
                console_of(self).database.reading() as session,
            ):
                rows = figures.export(
                    session, self.campaign_pk, job.what, job.fmt, out, on_progress=progress
                )
            publish(partial, job.path, job.overwrite)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        self.post_message(self.ExportFinished(ExportDone(job.path, job.what, rows)))

    @on(ExportProgressed)
    def _progressed(self, message: ExportProgressed) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=message.total, progress=message.done)
        of = f" of {message.total:,}" if message.total is not None else ""
        self.query_one("#problem", Static).update(Text(f"{message.done:,}{of} rows written"))

    @on(ExportFinished)
    def _finished(self, message: ExportFinished) -> None:
        self.running = None
        self.dismiss(message.result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.running or event.state is not WorkerState.ERROR:
            return
        self.running = None
        error = event.worker.error
        if isinstance(error, ExportCancelled):
            return
        for widget in self.query("RadioSet, Input, #export"):
            widget.disabled = False
        self.query_one("#progress").display = False
        text = (
            config.mask_secrets(error_text(error), console_of(self).database.url) if error else ""
        )
        self.show_problem(f"Nothing written. {text}".strip())


def open_export(screen: Screen, campaign_pk: int, campaign_id: str, name: str = "") -> None:
    """Show the export dialog over `screen`; say where the file went when it's done."""

    def done(result: ExportDone | None) -> None:
        if result is not None:
            screen.notify(
                f"Exported {result.rows:,} rows ({result.what}) to {result.path}", markup=False
            )

    screen.app.push_screen(ExportDialog(campaign_pk, campaign_id or str(campaign_pk), name), done)
