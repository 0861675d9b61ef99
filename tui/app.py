"""The Textual application: the database, the clock, global keys and the command palette."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from functools import partial

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import Monochrome
from textual.reactive import var
from textual.screen import Screen

from core import config
from core.errors import CampaignConsoleError, DatabaseUnavailable
from core.store import ChangeFeed, ChangeSet, Database, FeedStatus, ReplicaStatus, explain
from tui import keymap
from tui.format import error_text
from tui.live import (
    DataChanged,
    FeedStatusChanged,
    ReplicaChecked,
    consume,
    describe,
    describe_replica,
)
from tui.messages import (
    OpenAnalytics,
    OpenCompare,
    OpenPreview,
    OpenRecipients,
    OpenScreen,
    OpenTimeline,
)
from tui.no_color import ReadableMonochrome
from tui.palette import CampaignJump
from tui.screens.analytics import AnalyticsScreen
from tui.screens.campaigns import CampaignsScreen
from tui.screens.compare import CompareScreen
from tui.screens.event_log import EventLogScreen
from tui.screens.find import FindScreen
from tui.screens.help import HelpScreen
from tui.screens.preview import PreviewScreen
from tui.screens.recipients import RecipientsScreen
from tui.screens.shared.base import DataScreen
from tui.screens.shared.sorting import SortableScreen
from tui.screens.suppressions import SuppressionsScreen
from tui.screens.templates import TemplatesScreen
from tui.screens.timeline import TimelineScreen
from tui.signals import quit_when_terminal_hangs_up

REPLICA_CHECK_INTERVAL = 2.0  # s between two looks at the replica's lag


class CampaignConsoleApp(App):
    # What the title says of live refresh (tui.live.describe) follows these two (`var`: a
    # change sets the title, it does not repaint every screen).
    live_paused: var[bool] = var(False, init=False)
    feed_status: var[FeedStatus | None] = var(None, init=False)
    replica_status: var[ReplicaStatus | None] = var(None, init=False)
    TITLE = "Campaign Console"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {CampaignJump}
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Keys of this screen"),
        Binding("f", "find", "Find", id="app.find", tooltip="Find a recipient by email"),
        Binding("l", "event_log", "Events", id="app.events", tooltip="Latest events, live"),
        Binding(
            "ctrl+l",
            "toggle_live",
            "Live on/off",
            show=False,
            id="app.live",
            tooltip="Pause or resume live refresh",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            show=False,
            id="app.refresh",
            tooltip="Fetch this screen again now",
        ),
        Binding(
            "tilde",
            "go_home",
            "Home",
            show=False,
            id="app.home",
            tooltip="Back to the campaign list from any screen",
        ),
        Binding(
            "S",
            "suppressions",
            "Suppressions",
            show=False,
            id="app.suppressions",
            tooltip="Addresses not to mail again; lift one",
        ),
        Binding(
            "T",
            "templates",
            "Templates",
            show=False,
            id="app.templates",
            tooltip="The templates campaigns send: edit, preview",
        ),
    ]

    def __init__(
        self,
        database: Database,
        *,
        read_only: bool = False,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
        label: str | None = None,
        live: bool = True,
    ) -> None:
        super().__init__()
        keymap.install(self)  # the user's keys.toml, checked: KeysFileError stops the start
        if self.no_color:  # Textual's NO_COLOR filter leaves red text dark grey on dark grey
            self._filters = [
                ReadableMonochrome() if isinstance(f, Monochrome) else f for f in self._filters
            ]
        self.database = database
        self.read_only = read_only or database.read_only
        self.tz = tz  # None: the machine's local zone
        self._clock = clock
        self.label = label or database.display_url
        self.live = live
        self.missed = False  # changes came while live refresh was paused
        self.feed: ChangeFeed | None = None

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def on_mount(self) -> None:
        self.sub_title = self.label + ("  (read-only)" if self.read_only else "")
        self.push_screen(CampaignsScreen())
        if not self.is_headless:
            quit_when_terminal_hangs_up(self)  # a terminal gone without a SIGHUP
        if self.database.replica is not None:
            self._check_replica()
            self.set_interval(REPLICA_CHECK_INTERVAL, self._check_replica)
        if self.live:
            self.feed = ChangeFeed(
                # A pooler's URL can't LISTEN (the feed then polls); --listen-url can.
                self.database.listen_url or self.database.url,
                retry_max=2.0,  # back within 2 s of the server's return
                revive=self.database.revive,  # the embedded server: started again if it died
                on_status=self._feed_status_from_thread,
                # With a replica: each change says how far it must have replayed.
                with_lsn=self.database.replica is not None,
            )
            self.run_worker(
                partial(consume, self, self.feed),
                name="change feed",
                group="feed",
                thread=True,
                exit_on_error=False,
            )
        self._show_live_state()

    def _feed_status_from_thread(self, status: FeedStatus) -> None:
        self.post_message(FeedStatusChanged(status))  # the feed's thread: post, don't touch

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.stop()

    # -- the replica -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="replica")
    def _check_replica(self) -> None:
        if self.database.replica is not None:
            self.post_message(ReplicaChecked(self.database.replica.check()))

    @on(ReplicaChecked)
    def _replica_checked(self, message: ReplicaChecked) -> None:
        self.replica_status = message.status

    def watch_replica_status(self) -> None:
        self._show_live_state()

    # -- live refresh ----------------------------------------------------------------------
    @on(DataChanged)
    def _data_changed(self, message: DataChanged) -> None:
        if self.database.replica is not None:
            # Before any refresh reads: the replica's reads wait for these commits.
            self.database.replica.want(message.change.lsn)
        if self.live_paused:
            self.missed = True
            return
        screen = self.screen
        if isinstance(screen, DataScreen):
            screen.pacer.add(message.change)

    @on(FeedStatusChanged)
    def _feed_status(self, message: FeedStatusChanged) -> None:
        self.feed_status = message.status

    def watch_feed_status(self) -> None:
        self._show_live_state()

    def watch_live_paused(self, paused: bool) -> None:
        self._show_live_state()
        if not paused and self.missed:
            # Changes came while paused: the screen shown reads everything again.
            self.missed = False
            if isinstance(self.screen, DataScreen):
                self.screen.pacer.add(ChangeSet(frozenset(), resync=True))

    def _show_live_state(self) -> None:
        state = describe(self.feed_status, self.live_paused, self.tz) if self.live else ""
        parts = ["Campaign Console", state]
        if self.database.replica is not None:
            parts.append(describe_replica(self.replica_status))
        self.title = " · ".join(part for part in parts if part)

    def action_toggle_live(self) -> None:
        if not self.live:
            self.notify("Live refresh is off for this session.", severity="warning")
            return
        self.live_paused = not self.live_paused
        self.notify("Live refresh paused" if self.live_paused else "Live refresh resumed")

    def action_refresh(self) -> None:
        if isinstance(self.screen, DataScreen):
            self.screen.reload()

    def report_error(self, error: BaseException, *, reading: str | None = None) -> None:
        """Show a failed write (or any error) as a notification; `reading` names what a failed
        read was fetching ("campaigns"): one short line, for nothing was written."""
        url = self.database.url
        error = explain(error, url, reading=reading is not None) or error
        text = config.mask_secrets(error_text(error), url)
        for other in (self.database.replica_url, self.database.listen_url):
            text = config.mask_secrets(text, other)
        if reading is not None:
            reason = "server unreachable" if isinstance(error, DatabaseUnavailable) else text
            self.notify(
                f"Could not read {reading}: {reason}",
                title="Read failed",
                severity="error",
                markup=False,
                timeout=6,
            )
            return
        self.notify(
            text,
            title="Refused" if _is_domain(error) else "Error",
            severity="error",
            markup=False,
            timeout=8,
        )

    # -- global actions --------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_go_home(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, CampaignsScreen):
            self.pop_screen()

    def action_find(self) -> None:
        if not isinstance(self.screen, FindScreen):
            self.push_screen(FindScreen())

    def action_event_log(self) -> None:
        if not isinstance(self.screen, EventLogScreen):
            self.push_screen(EventLogScreen())

    def action_templates(self) -> None:
        if not isinstance(self.screen, TemplatesScreen):
            self.push_screen(TemplatesScreen())

    def action_suppressions(self) -> None:
        if not isinstance(self.screen, SuppressionsScreen):
            self.push_screen(SuppressionsScreen())

    # -- opening screens: screens ask with an Open... message (tui.messages) ----------------
    def _open(self, message: OpenScreen, screen: Callable[[], Screen]) -> None:
        # Only for the screen shown: a late Enter of a screen since covered opens nothing.
        if message.origin is None or message.origin is self.screen:
            self.push_screen(screen())

    @on(OpenRecipients)
    def _open_recipients(self, m: OpenRecipients) -> None:
        self._open(m, lambda: RecipientsScreen(m.campaign_pk, m.campaign_name))

    @on(OpenAnalytics)
    def _open_analytics(self, m: OpenAnalytics) -> None:
        self._open(m, lambda: AnalyticsScreen(m.campaign_pk, m.campaign_name))

    @on(OpenCompare)
    def _open_compare(self, m: OpenCompare) -> None:
        self._open(m, lambda: CompareScreen(m.first, m.second))

    @on(OpenPreview)
    def _open_preview(self, m: OpenPreview) -> None:
        self._open(m, lambda: PreviewScreen(m.template_id, m.template_name))

    @on(OpenTimeline)
    def _open_timeline(self, m: OpenTimeline) -> None:
        self._open(m, lambda: TimelineScreen(m.recipient_id))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Every binding of the current screen, so the palette holds every action.
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen or not active.enabled:
                continue
            seen.add(binding.action)
            help_text = f"{binding.tooltip or binding.description} (key: {key})"
            yield SystemCommand(
                binding.description,
                help_text,
                lambda node=active.node, action=binding.action: self.run_action(action, node),
            )
        # "Sort by open rate": each sort a sortable screen offers.
        if isinstance(screen, SortableScreen):
            for title, help_text, key in screen.sort_commands():
                yield SystemCommand(title, help_text, partial(screen.sort_by, key))


def _is_domain(error: BaseException) -> bool:
    return isinstance(error, CampaignConsoleError)
