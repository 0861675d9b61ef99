"""How a sender runs: its pool, batches, throttles, retries and leases (SendSettings), and
the message source it is given (MessageSource)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.recipients import ClaimedRecipient


class MessageSource(Protocol):
    """The message for one recipient of a campaign (campaign_pk: campaigns.id), built in the
    claiming transaction's session: its Message-ID core.tracking.message_id(campaign_pk,
    recipient.id, domain), so a message sent twice (the crash window) carries the same one.
    The envelope sender is its Return-Path's address (taken off the message: the receiving
    server writes that header), else its From's. Raising a core.errors.CampaignConsoleError
    fails that recipient with the error's text; anything else stops the sender."""

    def __call__(
        self, session: Session, campaign_pk: int, recipient: ClaimedRecipient
    ) -> EmailMessage: ...


@dataclass(frozen=True, slots=True)
class SendSettings:
    connections: int = 4  # SMTP connections to the relay, one message in flight on each
    batch_size: int = 200  # recipients claimed at a time
    per_second: float | None = None  # messages a second at most (a token bucket)
    per_hour: int | None = None  # messages in any hour at most (a sliding window)
    per_domain: int = 4  # messages in flight to one recipient domain at most
    max_attempts: int = 5  # a temporary failure is tried this often, then failed
    retry_base_s: float = 60.0  # first retry after this, doubling each time...
    retry_max_s: float = 3600.0  # ...up to this
    lease_s: float = 300.0  # a claimed recipient is ours this long, renewed while held
    flush_s: float = 0.1  # outcomes written at least this often, or when half the window waits
    window: int = 500  # messages sent whose outcome is not yet written, at most: no message
    # starts while this many wait, so a crash can send at most window + connections again
    poll_s: float = 0.25  # campaign statuses read this often (a pause is seen within it)
    idle_s: float = 1.0  # nothing to send: look again after this
    campaigns: tuple[
        int | str, ...
    ] = ()  # only these (row id, or campaign_id); () every running one
    until_done: bool = False  # stop once the campaigns have nothing left to send

    def check(self) -> SendSettings:
        def whole(name: str, low: int, high: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"{name} is a whole number from {low} to {high}, not {value!r}.")

        def seconds(name: str, low: float, high: float) -> None:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not low <= value <= high:
                raise InvalidInput(f"{name} is {low:g} to {high:g} seconds, not {value!r}.")

        whole("connections", 1, 200)
        whole("batch_size", 1, 10_000)
        whole("per_domain", 1, 1000)
        whole("max_attempts", 1, 100)
        whole("window", 1, 10_000)
        if self.per_hour is not None:
            whole("per_hour", 1, 10_000_000)
        if self.per_second is not None and not 0.01 <= self.per_second <= 100_000:
            raise InvalidInput(f"per_second is 0.01 to 100,000, not {self.per_second!r}.")
        seconds("retry_base_s", 0.01, 86_400)
        seconds("retry_max_s", self.retry_base_s, 7 * 86_400)
        seconds("lease_s", 1, 86_400)
        seconds("flush_s", 0.01, 10)
        seconds("poll_s", 0.01, 1)
        seconds("idle_s", 0.01, 60)
        return self
