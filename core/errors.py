"""Domain errors: each says what was wrong and what is allowed, in words a person can act on."""

from __future__ import annotations


class CampaignConsoleError(Exception):
    """Base of every refusal the core makes; str(error) is the message to show."""


class DatabaseUnavailable(CampaignConsoleError):
    """The database could not be reached or started."""


class DatabaseFailed(CampaignConsoleError):
    """The database could not finish an operation (a statement timeout, a full disk, a lost
    connection). The message says whether anything was written."""


class NotFound(CampaignConsoleError):
    """A campaign, recipient or event that was named does not exist."""


class InvalidInput(CampaignConsoleError):
    """Input that can't be stored: a bad value, a missing field, an oversized payload."""


class Conflict(CampaignConsoleError):
    """The write would break a uniqueness rule (a duplicate campaign id, say)."""


class InvalidTransition(CampaignConsoleError):
    """A lifecycle move that the campaign's current status does not allow."""


class ReadOnly(CampaignConsoleError):
    """A write was attempted on a read-only connection."""
