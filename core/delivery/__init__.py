"""core.delivery: the SMTP sender. The relay's URL (relay), one connection (connection), what
a reply means (replies), throttles (throttle), claimed batches with their messages (claims),
outcomes written (outcomes), alarms that pause a campaign (alarms), heartbeats (senders), and
the sender itself (sender), given its messages by a MessageSource (settings)."""

from core.delivery.alarms import (
    BOUNDS,
    AlarmSettings,
    alarm_reason,
    alarm_settings,
    check_and_pause,
    set_alarms,
)
from core.delivery.claims import Item, envelope_from, serialized
from core.delivery.relay import SMTP_URL_ENV, Relay, parse_relay
from core.delivery.replies import Outcome, Reply, Result, Stage, decide, retry_delay
from core.delivery.sender import Sender, Totals
from core.delivery.settings import MessageSource, SendSettings

__all__ = [
    "BOUNDS",
    "SMTP_URL_ENV",
    "AlarmSettings",
    "Item",
    "MessageSource",
    "Outcome",
    "Relay",
    "Reply",
    "Result",
    "SendSettings",
    "Sender",
    "Stage",
    "Totals",
    "alarm_reason",
    "alarm_settings",
    "check_and_pause",
    "decide",
    "envelope_from",
    "parse_relay",
    "retry_delay",
    "serialized",
    "set_alarms",
]
