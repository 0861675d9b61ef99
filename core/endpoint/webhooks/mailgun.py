"""Mailgun's webhooks: the HMAC signature, a replay cache of its tokens, and the events.

The body is {"signature": {timestamp, token, signature}, "event-data": {...}}; signature is
the hex HMAC-SHA256 of timestamp + token under the webhook signing key. A timestamp more than
300 s from now is refused, and so is a token already accepted (kept in memory, bounded, until
its timestamp leaves the window). A token is released again when the request is not recorded
(a 5xx or 4xx after verification), so Mailgun's retry of it is not taken for a replay.

Recorded: failed with severity permanent (a bounce: hard, or soft when the SMTP code is 4xx,
as when Mailgun gave up after retrying), complained, unsubscribed, delivered. A temporary
failure is a delivery attempt Mailgun retries: skipped, like accepted, opened, clicked.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from typing import Any

from core.endpoint.webhooks.common import (
    Kind,
    Parsed,
    ProviderEvent,
    Refusal,
    Skipped,
    bounce_data,
    enhanced_status,
    first_text,
    header_value,
    need_object,
    obj,
    smtp_code,
    text,
    unix_time,
)
from core.tracking.ids import METADATA_CAMPAIGN

PROVIDER = "mailgun"
MAX_TOKENS = 100_000  # tokens remembered (50 characters each: a few MiB at most)
_KINDS = {
    "failed": Kind.BOUNCE,
    "complained": Kind.COMPLAIN,
    "unsubscribed": Kind.UNSUBSCRIBE,
    "delivered": Kind.DELIVERED,
}


class TokenCache:
    """Tokens of accepted requests, each until it expires; bounded (the oldest go first)."""

    def __init__(self, max_tokens: int = MAX_TOKENS):
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._max = max_tokens
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def claim(self, token: str, *, now: float, expires: float) -> bool:
        """Take `token` (True), or False when it is taken and not expired: a replay."""
        with self._lock:
            while self._expiry:  # insertion order is nearly expiry order: drop from the front
                oldest, until = next(iter(self._expiry.items()))
                if until > now:
                    break
                del self._expiry[oldest]
            taken = self._expiry.get(token)
            if taken is not None and taken > now:
                return False
            self._expiry[token] = expires
            while len(self._expiry) > self._max:
                self._expiry.popitem(last=False)
            return True

    def release(self, token: str) -> None:
        with self._lock:
            self._expiry.pop(token, None)


def verify(key: bytes, signature: Any, *, now: float, max_age: float, tokens: TokenCache) -> str:
    """The token of a request Mailgun signed, claimed in `tokens`; Refusal (401 unsigned,
    stale or replayed; 403 a signature that doesn't match) otherwise."""
    if not isinstance(signature, dict):
        raise Refusal(401, "Unsigned: the body has no signature object.")
    timestamp, token, digest = (signature.get(k) for k in ("timestamp", "token", "signature"))
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not all(isinstance(v, str) and v for v in (timestamp, token, digest)):
        raise Refusal(401, "Unsigned: signature needs timestamp, token and signature.")
    assert isinstance(timestamp, str) and isinstance(token, str) and isinstance(digest, str)
    if not timestamp.isascii() or not timestamp.isdigit():
        raise Refusal(401, "The signature's timestamp is not a Unix time in seconds.")
    expected = hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest.strip().lower()):
        raise Refusal(403, "The Mailgun signature does not match: refused, nothing recorded.")
    stamp = int(timestamp)
    if abs(now - stamp) > max_age:
        raise Refusal(
            401,
            f"The signed timestamp is more than {max_age:.0f} s from now: a stale or replayed "
            "request (or a clock that is off) is refused.",
        )
    if not tokens.claim(token, now=now, expires=stamp + max_age):
        raise Refusal(401, "This signature's token was already used: a replay is refused.")
    return token


def parse(payload: dict[str, Any]) -> Parsed:
    """The ProviderEvent in a verified request's event-data (400 if it has none)."""
    data = need_object(payload.get("event-data"), "event-data")
    name = data.get("event")
    kind = _KINDS.get(name) if isinstance(name, str) else None
    severity = text(data.get("severity"))
    if kind is None:
        return Parsed(skipped=(Skipped(1, f"Mailgun {name!r} events are not recorded"),))
    if kind is Kind.BOUNCE and severity != "permanent":
        reason = "a temporary failure: Mailgun tries again and reports the outcome later"
        return Parsed(skipped=(Skipped(1, reason),))
    event_id = text(data.get("id"), 200)
    if event_id is None:
        raise Refusal(400, "The event-data has no id.")
    message = obj(data.get("message"))
    variables = obj(data.get("user-variables"))
    status = obj(data.get("delivery-status"))
    detail = text(status.get("message")) or text(status.get("description"))
    event = ProviderEvent(
        PROVIDER,
        kind,
        event_id,
        email=text(data.get("recipient")),
        message_id=header_value(message.get("headers"), "message-id"),
        campaign=first_text(variables.get(METADATA_CAMPAIGN)),
        occurred_at=unix_time(data.get("timestamp")),
        data=_bounce(data, status, detail) if kind is Kind.BOUNCE else {},
        detail=detail if kind is Kind.DELIVERED else None,
    )
    return Parsed((event,))


def _bounce(data: dict[str, Any], status: dict[str, Any], detail: str | None) -> dict[str, Any]:
    code = smtp_code(status.get("code"), detail)
    description = text(status.get("description"))
    return bounce_data(
        "soft" if code is not None and code.startswith("4") else "hard",
        code=code,
        message=detail or description or text(data.get("reason")) or "Mailgun: failed",
        status=text(status.get("enhanced-code")) or enhanced_status(detail, description),
        reason=text(data.get("reason")),
        severity=text(data.get("severity")),
    )
