"""What a screen asks the app for: to open another screen. The app (tui.app) is the only place
that opens screens, so no screen imports another; each message names what to show.

`origin` is the screen that asked: the app opens nothing for a screen that is no longer the
one shown (keys arrive in bursts over SSH: a second Enter must not stack a second screen).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.screen import Screen


@dataclass
class OpenScreen(Message):
    origin: Screen | None  # None: from the app itself or its command palette


@dataclass
class OpenRecipients(OpenScreen):
    campaign_pk: int
    campaign_name: str = ""


@dataclass
class OpenAnalytics(OpenScreen):
    campaign_pk: int
    campaign_name: str = ""


@dataclass
class OpenCompare(OpenScreen):
    first: int  # campaigns.id of each
    second: int


@dataclass
class OpenTimeline(OpenScreen):
    recipient_id: int


@dataclass
class OpenPreview(OpenScreen):
    template_id: int
    template_name: str = ""
