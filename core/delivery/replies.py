"""What the relay's answer to one message means: sent, try again later, failed, or a hard
bounce. Pure: no SMTP, no database.

    2xx                   sent
    421, 4.7.x            try again later, and the relay wants us to slow down (backoff)
    other 4xx             try again later (up to the attempt limit, then failed)
    no reply              try again later: the connection was lost or timed out
    refused at connect    try again later (the greeting or AUTH: the relay's, not the address)
    5.1.x to RCPT         a hard bounce: the address does not exist (suppressed from now on)
    other 5xx             failed, the reply as the recipient's error_message
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_REPLY_CHARS = 2000
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    BOUNCED = "bounced"


class Stage(StrEnum):
    """Where in the dialogue the answer came."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"


@dataclass(frozen=True, slots=True)
class Reply:
    """The relay's answer to one message: code None when none came (connection lost)."""

    code: int | None
    text: str
    stage: Stage

    @property
    def enhanced_status(self) -> str | None:
        """The RFC 3463 status at the start of the text (like 5.1.1), when there is one."""
        match = _ENHANCED.match(self.text)
        return ".".join(match.groups()) if match else None

    @property
    def slow_down(self) -> bool:
        """421 (service not available, closing) or 4.7.x (policy: rate, reputation)."""
        status = self.enhanced_status or ""
        return self.code == 421 or (self.code is not None and status.startswith("4.7."))

    def outcome(self) -> Outcome:
        code = self.code
        if code is not None and 200 <= code < 300:
            return Outcome.SENT
        if code is None or 400 <= code < 500 or self.stage == Stage.CONNECT:
            return Outcome.RETRY  # the relay refused us (not the address): try again later
        status = self.enhanced_status or ""
        if self.stage == Stage.RCPT and status.startswith("5.1."):
            return Outcome.BOUNCED
        return Outcome.FAILED

    def describe(self) -> str:
        """The reply for a person and for error_message: "550 5.1.1 No such user"."""
        text = " ".join(self.text.split())[:MAX_REPLY_CHARS]
        if self.code is None:
            return text or "no reply"
        return f"{self.code} {text}".rstrip()


@dataclass(frozen=True, slots=True)
class Result:
    """One attempt at one recipient: what came back and when."""

    campaign_pk: int
    recipient_id: int
    email_address: str
    attempt: int  # 1 for the first try
    at: datetime
    reply: Reply
    outcome: Outcome


def decide(reply: Reply, attempt: int, max_attempts: int) -> Outcome:
    """The reply's outcome, a temporary failure on the last allowed attempt being final."""
    outcome = reply.outcome()
    if outcome == Outcome.RETRY and attempt >= max_attempts:
        return Outcome.FAILED
    return outcome


def retry_delay(attempt: int, base_s: float, max_s: float) -> float:
    """Seconds before try attempt+1: base doubling each time, at most max_s."""
    return float(min(max_s, base_s * 2 ** max(attempt - 1, 0)))
