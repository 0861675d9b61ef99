"""core.events: an event before it is stored (input), recording one (record) or a batch
(batch) stored once by dedup key (dedup), the human-or-machine rules (machine), providers'
delivery reports (deliveries), the sender's attempts (attempts), and timelines and event
logs (read)."""

from core.events.attempts import AttemptRow, recipient_attempts
from core.events.batch import BatchResult, InvalidEvents, LineError, record_events
from core.events.deliveries import DeliveryInput, DeliveryRow, record_deliveries
from core.events.input import (
    MAX_EVENT_DATA_BYTES,
    MAX_EVENT_DATA_DEPTH,
    MAX_USER_AGENT_CHARS,
    EventInput,
)
from core.events.machine import (
    DEFAULT_TOO_FAST_SECONDS,
    RULE_NAMES,
    RULES,
    TOO_FAST_ENV,
    Settings,
    Signals,
    append_verdict,
    classify,
    current_settings,
    reclassify,
    rule_sql_matches,
)
from core.events.read import (
    SMALL_CAMPAIGN,
    EventRow,
    Timeline,
    campaign_clicks,
    count_events,
    events_since,
    latest_events,
    recipient_events,
    recipient_timeline,
)
from core.events.record import record_event

__all__ = [
    "DEFAULT_TOO_FAST_SECONDS",
    "MAX_EVENT_DATA_BYTES",
    "MAX_EVENT_DATA_DEPTH",
    "MAX_USER_AGENT_CHARS",
    "RULES",
    "RULE_NAMES",
    "SMALL_CAMPAIGN",
    "TOO_FAST_ENV",
    "AttemptRow",
    "BatchResult",
    "DeliveryInput",
    "DeliveryRow",
    "EventInput",
    "EventRow",
    "InvalidEvents",
    "LineError",
    "Settings",
    "Signals",
    "Timeline",
    "append_verdict",
    "campaign_clicks",
    "classify",
    "count_events",
    "current_settings",
    "events_since",
    "latest_events",
    "recipient_attempts",
    "recipient_events",
    "recipient_timeline",
    "reclassify",
    "record_deliveries",
    "record_event",
    "record_events",
    "rule_sql_matches",
]
