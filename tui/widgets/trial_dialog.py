"""The "send a test message" dialog (`T` on the recipients and templates screens): an address,
then the campaign's message rendered for one of its recipients is sent there through the relay
of $CAMPAIGN_CONSOLE_SMTP_URL (or the app's --smtp), "[test] " before its Subject, recording
nothing (core.delivery.trial). Without a relay the dialog says how to give one."""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from core import delivery, messages
from core.delivery import trial
from core.errors import InvalidInput
from tui.widgets.dialogs import AddressDialog

NO_RELAY = f"No relay: start the app with --smtp smtp://host:port or set ${delivery.SMTP_URL_ENV}."


def relay_url() -> str:
    return os.environ.get(delivery.SMTP_URL_ENV, "")


class TrialDialog(AddressDialog):
    """`save` sends; the dialog closes with what the relay said."""

    def __init__(self, campaign: int | str | None, name: str, *,
                 template: int | str | None = None) -> None:  # fmt: skip
        super().__init__(f"Send a test message of {name}", save=self._send)
        self.campaign = campaign
        self.template = template

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(Text(self.title_text), classes="title")
            yield Label("Send to (nothing is recorded on any recipient)")
            yield Input(self.default, id="address", placeholder="you@example.com")
            yield Static(Text(NO_RELAY, style="bold red") if not relay_url() else "", id="problem")
            yield Label("Enter: send   Escape: cancel", classes="hint")

    def values(self) -> str:
        if not relay_url():
            raise InvalidInput(NO_RELAY)
        return trial.check_address(self.query_one("#address", Input).value)

    def _send(self, session: Any, address: str) -> str:
        relay = delivery.parse_relay(relay_url())
        campaign, email = self.campaign, None
        if campaign is None:  # a template: rendered for the preview's sample recipient
            template = self.template
            picked = None if template is None else messages.sample_recipient(session, template)
            if picked is None:
                raise InvalidInput("No campaign has recipients to render this template for.")
            campaign, email = picked
        message = trial.trial_message(
            session, campaign, address, email=email, template=self.template
        )
        reply = trial.send_test(relay, message)
        if reply.outcome() != delivery.Outcome.SENT:
            raise InvalidInput(f"The relay refused the test message: {reply.describe()}")
        return f"Test message sent to {address} ({reply.describe()})"


def open_test_message(screen: Screen, campaign: int | str | None, name: str, **pick: Any) -> None:
    """Show the dialog over `screen`; say on the screen that it went."""

    def done(result: str | None) -> None:
        if result is not None:
            screen.notify(result, markup=False)

    screen.app.push_screen(TrialDialog(campaign, name, **pick), done)
