"""The campaigns screen, the first one: every campaign a page at a time, steered by keys."""

from tui.screens.campaigns.screen import CampaignsScreen

__all__ = ["CampaignsScreen"]
