"""The analytics screen of one campaign (`A`): rates, human opens, links, bounces, activity."""

from tui.screens.analytics.screen import AnalyticsScreen

__all__ = ["AnalyticsScreen"]
