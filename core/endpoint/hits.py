"""A hit: one request of a recipient's that becomes one event, and its line in a spool file."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.events import MAX_USER_AGENT_CHARS, EventInput
from core.store import EventType

KINDS = {"open": EventType.OPEN.value, "click": EventType.CLICK.value}


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str  # an event type: open, click, unsubscribe
    recipient_id: int
    source: str  # core.store.enums.EventSource: pixel, link, one-click, unsubscribe-page
    at: datetime
    user_agent: str | None
    ip_address: str | None
    dedup_key: str
    event_data: dict[str, Any] | None = None

    @classmethod
    def new(
        cls,
        kind: str,
        recipient_id: int,
        source: str,
        at: datetime,
        user_agent: str | None,
        ip_address: str | None,
        event_data: dict[str, Any] | None = None,
    ) -> Hit:
        if user_agent is not None:
            # Outside text: kept as sent, but no longer than core stores (a longer one would
            # be refused, and the hit lost with it). NUL can't be stored at all.
            user_agent = user_agent.replace("\x00", "")[:MAX_USER_AGENT_CHARS] or None
        return cls(
            kind,
            recipient_id,
            source,
            at,
            user_agent,
            ip_address,
            f"hit:{uuid.uuid4().hex}",
            event_data,
        )

    def event(self) -> EventInput:
        return EventInput(
            self.kind,
            recipient_id=self.recipient_id,
            event_data=self.event_data,
            user_agent=self.user_agent,
            ip_address=self.ip_address,
            created_at=self.at,
            source=self.source,
            dedup_key=self.dedup_key,
        )

    def line(self) -> bytes:
        """One JSON line (newline included), as the spool keeps it."""
        return (
            json.dumps(
                {
                    "k": self.kind,
                    "r": self.recipient_id,
                    "s": self.source,
                    "t": self.at.isoformat(),
                    "ua": self.user_agent,
                    "ip": self.ip_address,
                    "d": self.dedup_key,
                    "e": self.event_data,
                },
                ensure_ascii=True,
                separators=(",", ":"),
            ).encode("ascii")
            + b"\n"
        )

    @classmethod
    def from_line(cls, line: bytes) -> Hit:
        """The hit of a spool line; ValueError (or KeyError) for a line that isn't one."""
        o = json.loads(line)
        return cls(
            str(o["k"]),
            int(o["r"]),
            str(o["s"]),
            datetime.fromisoformat(o["t"]),
            o["ua"],
            o["ip"],
            str(o["d"]),
            o["e"],
        )
