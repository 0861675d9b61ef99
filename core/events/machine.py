"""Machine opens and clicks: which events were a program rather than a person.

Mail privacy proxies and security scanners fetch tracking pixels and follow links before (or
instead of) the person, so raw open and click counts overstate interest. Each open and click
is classified when it is recorded, by the rules in RULES below (the first that matches wins),
and the verdict is stored in its event_data:

    machine event:  {"machine": true, "machine_reason": "<rule name>", ...the caller's keys}
    human event:    the caller's event_data as given (no "machine" key at all)

Human events get no key: most events are human, and leaving their event_data alone keeps it
NULL when the caller sent none. The two keys belong to the classifier: on opens and clicks a
caller's own "machine"/"machine_reason" values are replaced by the verdict (removed for a
human event), so the stored verdict is always what the rules say. `reclassify` re-applies the
current rules to stored events (after a rule changed, or for rows other programs wrote).

Each rule has a Python form (used while recording, no extra query) and an SQL form (used by
reclassify, one UPDATE); tests/core/test_machine.py checks that both agree on every case.

Not machine, on purpose: Gmail's "GoogleImageProxy" and Yahoo's "YahooMailProxy" fetch images
when the person opens the message (the proxy hides their IP and user agent), so those opens
are real human opens. Outlook's "Microsoft Office/..." user agent is the desktop mail client
itself, also human.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns import campaign_key
from core.errors import InvalidInput
from core.store import CHANNEL, EventType  # reclassify notifies the change feed

OPEN, CLICK = EventType.OPEN.value, EventType.CLICK.value
CLASSIFIED_TYPES = (OPEN, CLICK)
MACHINE_KEY, REASON_KEY = "machine", "machine_reason"
DEFAULT_TOO_FAST_SECONDS = 2.0
TOO_FAST_ENV = "CAMPAIGN_CONSOLE_TOO_FAST_SECONDS"

APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")  # Apple's own address block
# The same block as IPv4-mapped IPv6 (::ffff:17.0.0.0/104), as a dual-stack server sees it.
APPLE_NETWORK_MAPPED = ipaddress.ip_network(f"::ffff:{APPLE_NETWORK.network_address}/104")
APPLE_PROXY_AGENT = "Mozilla/5.0"  # MPP fetches with exactly this, nothing after it

# Substrings (compared case-insensitively, ASCII letters only) of user agents no person's mail
# client or browser sends. Most commercial scanners pose as a browser and are caught by
# "too-fast" instead; these are the ones that say who they are. Not the bare word "bot":
# Android phones of the CUBOT brand carry it in their user agent.
SCANNER_AGENTS: tuple[str, ...] = (
    # link-preview fetchers of chat and social apps (someone pasted the link)
    "facebookexternalhit",
    "slackbot-linkexpanding",
    "twitterbot",
    "linkedinbot",
    "discordbot",
    "telegrambot",
    "whatsapp/",
    "skypeuripreview",
    # Microsoft's link preview/scanning crawler (Outlook.com and Exchange Online scans)
    "bingpreview",
    # security gateways that name themselves
    "barracuda",
    "proofpoint",
    "mimecast",
    # HTTP libraries and headless browsers: scripts, not mail clients
    "python-requests/",
    "python-urllib/",
    "python-httpx/",
    "aiohttp/",
    "go-http-client/",
    "curl/",
    "wget/",
    "libwww-perl/",
    "node-fetch/",
    "axios/",
    "headlesschrome",
    "phantomjs",
)

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = str.maketrans(_UPPER, _UPPER.lower())


def ascii_lower(value: str) -> str:
    """Lower-case ASCII letters only: PostgreSQL's translate() below does exactly the same,
    where lower() would depend on the database's locale (and Python's on Unicode tables)."""
    return value.translate(_ASCII_LOWER)


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """Thresholds of the "too-fast" rule, in seconds either side of sent_at; 0 turns the rule
    off for that event type."""

    too_fast_open: float = DEFAULT_TOO_FAST_SECONDS
    too_fast_click: float = DEFAULT_TOO_FAST_SECONDS

    def __post_init__(self) -> None:
        for name in ("too_fast_open", "too_fast_click"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0 <= value <= 86_400)
            ):
                raise InvalidInput(
                    f"{name.replace('_', ' ')} is a number of seconds from 0 (off) to 86400, "
                    f"not {value!r}."
                )

    @classmethod
    def uniform(cls, seconds: float) -> Settings:
        return cls(seconds, seconds)

    def window(self, event_type: str) -> timedelta | None:
        seconds = self.too_fast_open if event_type == OPEN else self.too_fast_click
        return timedelta(seconds=seconds) if seconds > 0 else None


def current_settings() -> Settings:
    """The defaults, or CAMPAIGN_CONSOLE_TOO_FAST_SECONDS (one number, for opens and clicks)."""
    raw = os.environ.get(TOO_FAST_ENV, "").strip()
    if not raw:
        return Settings()
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidInput(
            f"{TOO_FAST_ENV}={raw!r} is not a number of seconds (like 2 or 0.5; 0 = off)."
        ) from None
    return Settings.uniform(seconds)


# --- the rules --------------------------------------------------------------------------------


class Signals(NamedTuple):
    """What the rules look at. sent_at is None when unknown (then "too-fast" can't match)."""

    event_type: str
    user_agent: str | None
    ip_address: str | None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    window: timedelta | None = None  # Settings.window(event_type)


def plain_ip(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4-mapped IPv6 address (::ffff:17.1.2.3) as the IPv4 address it is; others as given.
    Events store this form, and every rule judges it."""
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip


def _apple_mpp(s: Signals) -> bool:
    if s.user_agent != APPLE_PROXY_AGENT or s.ip_address is None:
        return False
    try:
        return plain_ip(ipaddress.ip_address(s.ip_address)) in APPLE_NETWORK
    except ValueError:
        return False


def _scanner_ua(s: Signals) -> bool:
    if not s.user_agent:
        return False
    agent = ascii_lower(s.user_agent)
    return any(token in agent for token in SCANNER_AGENTS)


def within(at: datetime, sent_at: datetime, window: timedelta) -> bool:
    return sent_at - window < at < sent_at + window


def _too_fast(s: Signals) -> bool:
    if s.sent_at is None or s.created_at is None or s.window is None:
        return False
    return within(s.created_at, s.sent_at, s.window)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # stored as event_data.machine_reason
    description: str
    event_types: frozenset[str]
    matches: Callable[[Signals], bool]
    # The same test in SQL over email_tracking `e` joined to campaign_recipients `r`, with the
    # parameters :scanner_patterns (text[]), :too_fast_open and :too_fast_click (seconds).
    sql: str
    needs_sent_at: bool = False


RULES: tuple[Rule, ...] = (
    Rule(
        "apple-mpp",
        "Apple Mail Privacy Protection: the pixel fetched from Apple's 17.0.0.0/8 network with "
        f"the bare user agent {APPLE_PROXY_AGENT!r}, whether or not the person looked",
        frozenset({OPEN}),
        _apple_mpp,
        f"(e.ip_address << inet '{APPLE_NETWORK}' OR e.ip_address << inet '{APPLE_NETWORK_MAPPED}')"
        f" AND e.user_agent = '{APPLE_PROXY_AGENT}'",
    ),
    Rule(
        "scanner-ua",
        "a security scanner, link-preview fetcher or HTTP library by its user agent",
        frozenset({OPEN, CLICK}),
        _scanner_ua,
        f"translate(e.user_agent, '{_UPPER}', '{_UPPER.lower()}')"
        " LIKE ANY (CAST(:scanner_patterns AS text[]))",
    ),
    Rule(
        "too-fast",
        "within the configured number of seconds of the recipient's sent_at (either side): "
        "faster than anyone reads mail; what scanners that pose as browsers do",
        frozenset({OPEN, CLICK}),
        _too_fast,
        "r.sent_at IS NOT NULL AND abs(extract(epoch FROM e.created_at - r.sent_at)) < ("
        f"CASE e.event_type WHEN '{OPEN}' THEN CAST(:too_fast_open AS float8)"
        " ELSE CAST(:too_fast_click AS float8) END)",
        needs_sent_at=True,
    ),
)
RULE_NAMES: tuple[str, ...] = tuple(r.name for r in RULES)

# core.events.record's single-event INSERT: event_data with "too-fast" applied to the recipient's
# sent_at (CTE `target`) and the event's :created_at (NULL = now()); :too_fast is the window
# in seconds, NULL when an earlier rule already decided or the rule is off.
TOO_FAST_EVENT_DATA_SQL = f"""CASE
        WHEN target.sent_at IS NOT NULL AND abs(extract(epoch FROM
            COALESCE(CAST(:created_at AS timestamptz), now()) - target.sent_at))
            < CAST(:too_fast AS float8)
        THEN COALESCE(CAST(:event_data AS jsonb), '{{}}'::jsonb)
            || jsonb_build_object('{MACHINE_KEY}', true, '{REASON_KEY}', 'too-fast')
        ELSE CAST(:event_data AS jsonb) END"""


def classify(signals: Signals) -> str | None:
    """The name of the first rule the event matches, or None for a human event."""
    for rule in RULES:
        if signals.event_type in rule.event_types and rule.matches(signals):
            return rule.name
    return None


def classify_without_sent_at(event_type: str, user_agent: str | None, ip: str | None) -> str | None:
    """The rules that need nothing from the database (all but the last ones, which need
    sent_at: RULES keeps those at the end so the order of precedence holds)."""
    return classify(Signals(event_type, user_agent, ip))


def append_verdict(data_json: str | None, reason: str) -> str:
    """Serialised event_data (a JSON object without the verdict keys) with the verdict added."""
    tail = f'"{MACHINE_KEY}":true,"{REASON_KEY}":"{reason}"}}'
    if data_json is None or data_json == "{}":
        return "{" + tail
    return data_json[:-1] + "," + tail


# --- applying the rules to stored events ------------------------------------------------------


def _like(token: str) -> str:
    return "%" + token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _reason_sql() -> str:
    whens = "\n".join(
        f"        WHEN e.event_type IN ({', '.join(repr(t) for t in sorted(r.event_types))})"
        f" AND ({r.sql}) THEN '{r.name}'"
        for r in RULES
    )
    return f"CASE\n{whens}\n    END"


_STRIPPED = f"(j.event_data - '{MACHINE_KEY}' - '{REASON_KEY}')"
_HAS_KEYS = f"(j.event_data ? '{MACHINE_KEY}' OR j.event_data ? '{REASON_KEY}')"
_RECLASSIFY = f"""
WITH judged AS (
    SELECT e.id, e.event_data, {_reason_sql()} AS reason
    FROM email_tracking e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
    WHERE e.event_type IN ('{OPEN}', '{CLICK}') /*campaign*/
      AND (e.event_data IS NULL OR jsonb_typeof(e.event_data) = 'object')
),
target AS (
    SELECT id, event_data AS old, CASE
        WHEN reason IS NOT NULL THEN COALESCE({_STRIPPED}, '{{}}'::jsonb)
            || jsonb_build_object('{MACHINE_KEY}', true, '{REASON_KEY}', reason)
        WHEN {_HAS_KEYS} THEN NULLIF({_STRIPPED}, '{{}}'::jsonb)
        ELSE event_data
    END AS new
    FROM judged j
),
changed AS (
    UPDATE email_tracking e SET event_data = t.new
    FROM target t
    WHERE e.id = t.id AND t.new IS DISTINCT FROM t.old
    RETURNING e.campaign_recipient_id
),
touched AS (
    SELECT DISTINCT r.campaign_id FROM changed c
    JOIN campaign_recipients r ON r.id = c.campaign_recipient_id
)
SELECT (SELECT count(*) FROM changed),
       (SELECT count(pg_notify('{CHANNEL}', campaign_id::text)) FROM touched)
"""


def reclassify(
    session: Session, campaign: int | str | None = None, *, settings: Settings | None = None
) -> int:
    """Apply the current rules to the stored opens and clicks of one campaign (by id or
    campaign_id) or of all; returns how many events changed verdict. One UPDATE; the events'
    campaigns are notified on the change feed. Raises NotFound for an unknown campaign."""
    settings = settings or current_settings()
    params: dict[str, object] = {
        "scanner_patterns": [_like(t) for t in SCANNER_AGENTS],
        "too_fast_open": settings.too_fast_open or None,
        "too_fast_click": settings.too_fast_click or None,
    }
    where = ""
    if campaign is not None:
        params["campaign_pk"], _ = campaign_key(session, campaign)
        where = "AND r.campaign_id = :campaign_pk"
    changed, _ = session.execute(text(_RECLASSIFY.replace("/*campaign*/", where)), params).one()
    return int(changed)


def rule_sql_matches(session: Session, rule: Rule, signals: Signals, settings: Settings) -> bool:
    """Evaluate one rule's SQL form on literal values (for tests and for explaining a verdict)."""
    sql = f"""
        SELECT COALESCE(({rule.sql}), false) FROM
        (SELECT CAST(:event_type AS text) AS event_type, CAST(:user_agent AS text) AS user_agent,
                CAST(:ip AS inet) AS ip_address, CAST(:created_at AS timestamptz) AS created_at) e,
        (SELECT CAST(:sent_at AS timestamptz) AS sent_at) r
    """
    params = {
        "event_type": signals.event_type,
        "user_agent": signals.user_agent,
        "ip": signals.ip_address,
        "created_at": signals.created_at,
        "sent_at": signals.sent_at,
        "scanner_patterns": [_like(t) for t in SCANNER_AGENTS],
        "too_fast_open": settings.too_fast_open or None,
        "too_fast_click": settings.too_fast_click or None,
    }
    return bool(session.execute(text(sql), params).scalar_one())
