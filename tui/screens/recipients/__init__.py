"""The recipients screen of one campaign: its stats on top, its recipients a page at a time."""

from tui.screens.recipients.screen import RecipientsScreen

__all__ = ["RecipientsScreen"]
