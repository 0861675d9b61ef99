"""What an event is before it is stored: EventInput, its JSON-lines form, and its checks.

Everything that can be checked without the database is checked here, so a batch is judged
before a single row of it is written. core.events.record (one event) and core.events.batch
(a batch) resolve recipients and write.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import core.events.machine as machine
from core.errors import InvalidInput
from core.store import EventSource, EventType, RecipientStatus, nesting_depth
from core.times import time_problem

MAX_EVENT_DATA_BYTES = 16 * 1024
MAX_EVENT_DATA_DEPTH = 32  # objects and arrays inside one another, event_data itself the first
# Real clients send a few hundred characters; a longer one is refused, not cut.
MAX_USER_AGENT_CHARS = 2048
MAX_DEDUP_KEY_CHARS = 200
EVENT_SOURCES: tuple[str, ...] = tuple(s.value for s in EventSource)
_EVENT_SOURCE_SET = frozenset(EVENT_SOURCES)
EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
_EVENT_TYPE_SET = frozenset(EVENT_TYPES)
_ALLOWED_TYPES = ", ".join(EVENT_TYPES)
_INT4_MAX = 2**31 - 1  # campaign_recipients.id is an INTEGER

# Which recipient timestamps an event sets (first one wins), and the status it sets.
TIMESTAMPS: dict[str, tuple[str, ...]] = {
    EventType.OPEN: ("opened_at",),
    EventType.CLICK: ("clicked_at", "opened_at"),  # a click is also an open
    EventType.REPLY: ("replied_at",),
    EventType.BOUNCE: ("bounced_at",),
}
# Events that only a delivered message can cause: refused for a recipient never sent (no
# sent_at). A bounce may come for a message refused at the SMTP dialogue (never marked sent),
# and an unsubscribe or complaint must always suppress the address: those are kept.
NEEDS_SENT = frozenset(
    {EventType.OPEN.value, EventType.CLICK.value, EventType.REPLY.value, EventType.FORWARD.value}
)
STATUS: dict[str, str] = {
    EventType.BOUNCE: RecipientStatus.BOUNCED.value,
    EventType.UNSUBSCRIBE: RecipientStatus.UNSUBSCRIBED.value,
    EventType.COMPLAIN: RecipientStatus.UNSUBSCRIBED.value,
}

JSON_KEYS = (
    "event_type",
    "recipient_id",
    "campaign",
    "email_address",
    "event_data",
    "user_agent",
    "ip_address",
    "created_at",
    "source",
    "dedup_key",
)
_JSON_KEY_SET = frozenset(JSON_KEYS)
_VERDICT_KEYS = frozenset({machine.MACHINE_KEY, machine.REASON_KEY})

# json.dumps writes U+0000 as \u0000 (an odd number of backslashes before "u0000"), which
# PostgreSQL's jsonb refuses; an even number is an escaped backslash followed by text.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class Rejected(ValueError):
    """Why one event can't be stored; the caller adds the line or context."""


@dataclass(frozen=True, slots=True)
class EventInput:
    """One event to record. Name the recipient by `recipient_id` (campaign_recipients.id)
    or by `campaign` (the string campaign_id) with `email_address`, not both.
    `created_at` must carry a time zone; None means the transaction's time. `source` is one
    of core.store.EventSource (None: not recorded); an event whose `dedup_key` is already
    stored (or repeats in its batch) is skipped, not written again."""

    event_type: str
    recipient_id: int | None = None
    campaign: str | None = None
    email_address: str | None = None
    event_data: dict[str, Any] | None = None
    user_agent: str | None = None
    ip_address: str | None = None
    created_at: datetime | None = None
    source: str | None = None
    dedup_key: str | None = None

    @classmethod
    def from_json(cls, obj: Any, line: int) -> EventInput:
        """An event from one parsed JSON-lines object; InvalidInput names `line` if its shape
        is wrong. Values are checked when the event is recorded."""
        try:
            return cls(**_fields_from_json(obj))
        except Rejected as exc:
            raise InvalidInput(f"Line {line}: {exc}") from None


def _fields_from_json(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise Rejected(f"expected a JSON object with event_type and a recipient, got {_kind(obj)}")
    unknown = sorted(str(k) for k in obj.keys() - _JSON_KEY_SET)
    if unknown:
        raise Rejected(
            f"unknown key {', '.join(map(repr, unknown))} (allowed: {', '.join(JSON_KEYS)})"
        )
    if "event_type" not in obj:
        raise Rejected(f"event_type is missing (one of: {_ALLOWED_TYPES})")
    fields = dict(obj)
    created = fields.get("created_at")
    if created is not None:
        if not isinstance(created, str):
            raise Rejected(
                f"created_at must be an ISO-8601 string like 2026-11-26T10:00:00Z, "
                f"got {_kind(created)}"
            )
        try:
            fields["created_at"] = datetime.fromisoformat(created)
        except ValueError:
            raise Rejected(
                f"created_at {created!r} is not an ISO-8601 time (like 2026-11-26T10:00:00Z)"
            ) from None
    return fields


class Prepared(NamedTuple):
    """A checked event, in the shape the SQL takes."""

    event_type: str
    recipient_id: int | None
    recipient_key: tuple[str, str] | None  # (campaign_id, email_address)
    event_data: str | None  # serialised JSON object
    user_agent: str | None
    ip_address: str | None
    created_at: datetime | None
    error_message: str | None  # bounces only
    # Opens and clicks: the rule (core.events.machine) that already calls it a machine event, its
    # verdict already in event_data; None leaves the rules that need sent_at to core.events.record.
    machine_reason: str | None = None
    source: str | None = None
    dedup_key: str | None = None


def prepare(event: EventInput) -> Prepared:
    """The event, checked and serialised; raises Rejected with a reason a person can act on."""
    event_type = event.event_type
    if not isinstance(event_type, str) or event_type not in _EVENT_TYPE_SET:
        raise Rejected(f"unknown event type {event_type!r} (allowed: {_ALLOWED_TYPES})")
    event_type = str(event_type)  # a StrEnum member becomes its plain value

    recipient_id, recipient_key = _recipient(event)
    data = event.event_data
    classified = event_type in machine.CLASSIFIED_TYPES
    if classified and isinstance(data, dict) and _VERDICT_KEYS & data.keys():
        data = {k: v for k, v in data.items() if k not in _VERDICT_KEYS}  # the rules decide
    data_json = None if data is None else _json_object(data)
    user_agent = event.user_agent
    if user_agent is not None:
        check_text(user_agent, "user_agent")
        if len(user_agent) > MAX_USER_AGENT_CHARS:
            raise Rejected(
                f"user_agent is {len(user_agent):,} characters; the limit is "
                f"{MAX_USER_AGENT_CHARS:,}"
            )
    ip = None if event.ip_address is None else _ip(event.ip_address)
    reason = machine.classify_without_sent_at(event_type, user_agent, ip) if classified else None
    if reason is not None:
        data_json = machine.append_verdict(data_json, reason)
    created_at = event.created_at
    if created_at is not None:
        if not isinstance(created_at, datetime):
            raise Rejected(f"created_at must be a date and time, got {type(created_at).__name__}")
        if created_at.utcoffset() is None:
            raise Rejected(
                f"created_at {created_at.isoformat()} has no time zone "
                "(give one, e.g. 2026-11-26T10:00:00Z or +01:00)"
            )
        problem = time_problem(created_at)
        if problem is not None:
            raise Rejected(f"created_at {created_at.isoformat()} {problem}")
    error = _bounce_error(data) if event_type == EventType.BOUNCE else None
    source = None if event.source is None else _source(event.source)
    dedup_key = None if event.dedup_key is None else _dedup_key(event.dedup_key)
    return Prepared(
        event_type,
        recipient_id,
        recipient_key,
        data_json,
        user_agent,
        ip,
        created_at,
        error,
        machine_reason=reason,
        source=source,
        dedup_key=dedup_key,
    )


def _source(value: Any) -> str:
    if not isinstance(value, str) or value not in _EVENT_SOURCE_SET:
        raise Rejected(f"unknown source {value!r} (allowed: {', '.join(EVENT_SOURCES)})")
    return str(value)


def _dedup_key(value: Any) -> str:
    check_text(value, "dedup_key")
    if not value:
        raise Rejected("dedup_key is empty (leave it out, or give a key)")
    if len(value) > MAX_DEDUP_KEY_CHARS:
        raise Rejected(
            f"dedup_key is {len(value):,} characters; the limit is {MAX_DEDUP_KEY_CHARS}"
        )
    return str(value)


def _recipient(event: EventInput) -> tuple[int | None, tuple[str, str] | None]:
    rid, campaign, email = event.recipient_id, event.campaign, event.email_address
    if rid is not None:
        if campaign is not None or email is not None:
            raise Rejected(
                "name the recipient by recipient_id or by campaign with email_address, not both"
            )
        if type(rid) is not int:
            raise Rejected(f"recipient_id must be a whole number, got {_kind(rid)}")
        if not 1 <= rid <= _INT4_MAX:
            raise Rejected(unknown_recipient_id(rid))
        return rid, None
    if campaign is None and email is None:
        raise Rejected("no recipient: give recipient_id, or campaign and email_address")
    if campaign is None or email is None:
        missing = "campaign" if campaign is None else "email_address"
        raise Rejected(f"{missing} is missing: a recipient is named by campaign and email_address")
    check_text(campaign, "campaign")
    check_text(email, "email_address")
    return None, (campaign, email)


def unknown_recipient_id(rid: int) -> str:
    return f"no recipient with id {rid}"


def never_sent(event_type: str, rid: int) -> str:
    return (
        f"recipient {rid} was never sent the message (no sent_at): {event_type} events can "
        "only follow a send; mark the recipient sent first"
    )


def _json_object(data: Any) -> str:
    if not isinstance(data, dict):
        raise Rejected(f"event_data must be a JSON object ({{...}}), got {_kind(data)}")
    depth = nesting_depth(data)
    if depth > MAX_EVENT_DATA_DEPTH:
        raise Rejected(
            f"event_data is nested {depth:,} levels deep; the limit is {MAX_EVENT_DATA_DEPTH}"
            " (objects and arrays inside one another)"
        )
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise Rejected(f"event_data can't be stored as JSON: {exc}") from None
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise Rejected("event_data contains text that is not valid Unicode") from None
    if size > MAX_EVENT_DATA_BYTES:
        raise Rejected(
            f"event_data is {size:,} bytes as JSON; the limit is "
            f"{MAX_EVENT_DATA_BYTES:,} bytes (16 KiB)"
        )
    if "u0000" in text and _NUL_ESCAPE.search(text):
        raise Rejected("event_data contains a NUL character (\\u0000), which can't be stored")
    return text


def check_text(value: Any, name: str) -> None:
    if not isinstance(value, str):
        raise Rejected(f"{name} must be text, got {_kind(value)}")
    if "\x00" in value:
        raise Rejected(f"{name} contains a NUL character, which can't be stored")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise Rejected(f"{name} contains text that is not valid Unicode") from None


def _ip(value: Any) -> str:
    # Stored as core.events.machine.plain_ip has it: ::ffff:17.1.2.3 as 17.1.2.3 (issue 19.15).
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(machine.plain_ip(value))
    # ip_address() also takes integers and IPv6 zone ids (fe80::1%eth0); INET takes neither.
    if isinstance(value, str) and "%" not in value:
        try:
            return str(machine.plain_ip(ipaddress.ip_address(value)))
        except ValueError:
            pass
    raise Rejected(
        f"invalid IP address {value!r} (expected IPv4 like 203.0.113.7 or IPv6 like 2001:db8::1)"
    )


def _bounce_error(data: dict[str, Any] | None) -> str:
    """The recipient's error_message for a bounce: the provider's text, else type and code."""
    data = data or {}
    message = data.get("error_message")
    if message not in (None, ""):
        return str(message)
    parts = [str(data[k]) for k in ("bounce_type", "error_code") if data.get(k) not in (None, "")]
    return " ".join(parts) or "Bounced (no details given)"


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages about input that came as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})" if len(value) <= 40 else "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
