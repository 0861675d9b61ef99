"""What every provider's webhook shares: the parsed event (ProviderEvent), refusals with their
HTTP status, reading a bounded body, JSON, times and SMTP codes.

A provider module verifies what its provider signs, then turns the payload into
ProviderEvents; core.endpoint.webhooks.record matches them to recipients and writes them in
one transaction. A refusal (Refusal) is answered before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: SendGrid's batches are far smaller
MAX_TEXT_CHARS = 2000  # a provider's diagnostic text kept in event_data (event_data <= 16 KiB)
MAX_DEDUP_CHARS = 200  # core.events' limit on dedup_key
MAX_EVENTS = 1000  # events in one request (SendGrid sends up to a few hundred)


class Kind(StrEnum):
    """What a provider reported, in our words: the first three are events of core.events,
    DELIVERED a row of the deliveries table."""

    BOUNCE = "bounce"
    COMPLAIN = "complain"
    UNSUBSCRIBE = "unsubscribe"
    DELIVERED = "delivered"


@dataclass(frozen=True)
class ProviderEvent:
    """One provider event, parsed. The recipient is found by our Message-ID (`message_id` as
    the provider reports the header), else by `campaign` (our campaign_id, from metadata or a
    header) with `email`. `data` becomes event_data (bounces: bounce_type hard/soft,
    error_code, error_message); `detail` is a delivery's text."""

    provider: str
    kind: Kind
    event_id: str  # the provider's id of this event: the dedup key is "<provider>:<event_id>"
    email: str | None = None
    message_id: str | None = None
    campaign: str | None = None
    occurred_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None
    position: int = 1  # its place in the request (1-based), for messages

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.provider, self.event_id)


@dataclass(frozen=True)
class Skipped:
    """An event of the request that is acknowledged but not recorded, and why."""

    position: int
    reason: str


@dataclass(frozen=True)
class Parsed:
    events: tuple[ProviderEvent, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    note: str | None = None  # e.g. "subscription confirmation logged"


class Refusal(Exception):
    """The request is refused with `status`; `message` says why (nothing was written)."""

    def __init__(self, status: int, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.details:
            body["details"] = self.details
        headers = {"Retry-After": "30"} if self.status == 503 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def bounded_id(event_id: str, limit: int) -> str:
    """`event_id`, or "sha256:<its hash>" when it is longer than `limit` characters."""
    if len(event_id) <= limit:
        return event_id
    return f"sha256:{hashlib.sha256(event_id.encode()).hexdigest()}"


def dedup_key(provider: str, event_id: str) -> str:
    """ "<provider>:<event id>", the id hashed when the key would be over 200 characters."""
    return f"{provider}:{bounded_id(event_id, MAX_DEDUP_CHARS - len(provider) - 1)}"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's body, at most `limit` bytes: 413 beyond it (read no further)."""
    too_large = Refusal(413, f"The body is larger than {limit:,} bytes; nothing was recorded.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refusal(400, "The client went away before the body was read.") from None
    return b"".join(chunks)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """The body as JSON; 400 naming the problem when it isn't (NaN and Infinity included)."""
    try:
        return json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise Refusal(400, f"The body is not valid JSON ({_first_line(exc)}).") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (for optional parts of a payload)."""
    return value if isinstance(value, dict) else {}


def need_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refusal(400, f"{what} must be a JSON object.")
    return value


def text(value: Any, limit: int = MAX_TEXT_CHARS) -> str | None:
    """A provider's value as text for event_data (None when absent or empty), cut at `limit`
    characters and without NUL, which the database can't store."""
    if value is None or isinstance(value, dict | list):
        return None
    out = str(value).replace("\x00", "")
    return out[:limit] or None


def iso_time(value: Any) -> datetime | None:
    """An ISO-8601 time (SES, Postmark) with a zone; None when absent or unreadable (the
    event then takes the transaction's time)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else parsed.replace(tzinfo=UTC)


def unix_time(value: Any) -> datetime | None:
    """Seconds since 1970 (SendGrid, Mailgun); None when absent or unreadable."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


_SMTP_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
_ENHANCED = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")


def smtp_code(*texts: Any) -> str | None:
    """The SMTP reply code (like "550") in the first text that has one."""
    for value in texts:
        if isinstance(value, int) and not isinstance(value, bool) and 200 <= value <= 599:
            return str(value)
        if isinstance(value, str):
            found = _SMTP_CODE.search(value)
            if found:
                return found.group(1)
    return None


def enhanced_status(*texts: Any) -> str | None:
    """The enhanced status code (RFC 3463, like "5.1.1") in the first text that has one."""
    for value in texts:
        if isinstance(value, str):
            found = _ENHANCED.search(value)
            if found:
                return found.group(1)
    return None


def bounce_data(
    bounce_type: str,
    *,
    code: str | None,
    message: str | None,
    status: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """event_data of a bounce: bounce_type "hard" or "soft" (what suppression and the
    figures read), error_code (the SMTP reply code), error_message (the server's text),
    enhanced_status (RFC 3463, like 5.1.1), and the provider's own fields in `extra` (None
    values left out)."""
    data: dict[str, Any] = {"bounce_type": bounce_type}
    for key, value in (
        ("error_code", code),
        ("error_message", message),
        ("enhanced_status", status),
    ):
        if value is not None:
            data[key] = value
    data.update({k: v for k, v in extra.items() if v is not None})
    return data


def header_value(headers: Any, name: str) -> str | None:
    """A header's value from a list of {name, value} objects (SES) or a mapping (Mailgun's
    message.headers), compared case-insensitively."""
    wanted = name.lower()
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
                return value
        return None
    if isinstance(headers, list):
        for item in headers:
            if not isinstance(item, Mapping):
                continue
            key, value = item.get("name"), item.get("value")
            if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
                return value
    return None


def first_text(value: Any) -> str | None:
    """A metadata value: a string, or the first string of a list (SES tags are lists)."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def ok(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=200)
