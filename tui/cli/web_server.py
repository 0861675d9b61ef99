"""The server behind `campaigns web`: textual-serve's Server with a gate in front of it.

textual-serve starts one app process per browser tab (its websocket) and has no
authentication of its own. Here an aiohttp middleware lets a request through only with the
server's secret (the printed token or the operator's password) or the cookie a correct one
earns, so nothing, an app process least of all, starts for anyone else. The server also counts
the open tabs, refuses the one past --max-sessions with a page that says so, and closes a tab
that has sent no input for --idle-timeout (its app process ends, and with it its database
connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import signal
import time
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tui.cli import web_pages
from tui.cli.common import one_line, say

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STOP_WAIT = 10.0  # seconds an app process has to quit before it is killed
PAGE = Path(__file__).parent / "web_templates"  # the tab's page: textual-serve's, fonts local
START_WAIT = 60.0  # seconds an app has to paint before its tab counts as idle
IDLE_CLOSE = 4000  # the websocket close code of a tab closed for idleness


@dataclass(frozen=True)
class WebSettings:
    command: str  # the app's command line: never a secret in it (ps shows it)
    secret: str = field(repr=False)  # the token or the password
    max_sessions: int
    idle_timeout: float | None  # seconds without input; None: never
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # set for each app
    drop_env: tuple[str, ...] = ()  # never passed to an app


class AppProcess(AppService):
    """One tab's app process, started with the settings' environment."""

    def __init__(self, settings: WebSettings, **kwargs: Any) -> None:
        super().__init__(settings.command, **kwargs)
        self._settings = settings
        self.painted = asyncio.Event()  # the app's first output came
        self._relay: asyncio.Task[None] | None = None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        for name in self._settings.drop_env:
            environment.pop(name, None)
        environment.update(self._settings.env)
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        """textual-serve keeps an app's stderr until the app ends, then writes it to stdout;
        here each line goes to stderr as it comes, saying which app wrote it."""
        process = await super()._open_app_process(width, height)
        assert process.stderr is not None
        self._relay = asyncio.create_task(self._relay_stderr(process.stderr, process.pid))
        nothing = asyncio.StreamReader()
        nothing.feed_eof()
        process.stderr = nothing  # what textual-serve reads: empty
        return process

    @staticmethod
    async def _relay_stderr(stream: asyncio.StreamReader, pid: int) -> None:
        async for line in stream:
            say(f"app pid {pid}: {one_line(line.decode('utf-8', 'replace').rstrip())}")

    async def on_data(self, payload: bytes) -> None:
        self.painted.set()
        await super().on_data(payload)

    async def run(self) -> None:
        """textual-serve's loop over the app's output; the tab is closed when the app ends
        (it quit, or it failed to start), not left open on nothing."""
        try:
            await super().run()
        finally:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.remote_close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def end(self) -> None:
        """Ask the app to quit and wait for it to exit; kill it if it has not after STOP_WAIT
        seconds. Its database connections close as it exits."""
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(self.stop(), STOP_WAIT)
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), STOP_WAIT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._relay is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._relay, STOP_WAIT)  # its last words


@dataclass(eq=False)  # one per tab: a set holds them by identity
class Tab:
    peer: str
    websocket: web.WebSocketResponse
    last_input: float = field(default_factory=time.monotonic)
    idle_closed: bool = False


class WebServer(Server):
    def __init__(self, settings: WebSettings, host: str, port: int) -> None:
        super().__init__(
            settings.command, host=host, port=port, title="Campaign Console", templates_path=PAGE
        )
        self.settings = settings
        self.tabs: set[Tab] = set()
        self.reserved = 0  # tabs past the gate whose app is starting
        self.apps: set[AppProcess] = set()  # every app process not yet ended
        self.cookie_name = f"campaign_console_web_{secrets.token_hex(4)}"
        self._cookie_value = secrets.token_urlsafe(32)
        self.addresses: list[tuple[str, int]] = []

    # --- the gate ----------------------------------------------------------------------

    def _is_secret(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), self.settings.secret.encode("utf-8")
        )

    def _has_cookie(self, request: web.Request) -> bool:
        given = request.cookies.get(self.cookie_name)
        return given is not None and hmac.compare_digest(given, self._cookie_value)

    def _admit(self, response: web.StreamResponse) -> web.StreamResponse:
        response.set_cookie(
            self.cookie_name, self._cookie_value, httponly=True, samesite="Strict", path="/"
        )
        return response

    @web.middleware
    async def gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every request needs the secret (?token=, the sign-in form) or the cookie."""
        if request.path == "/login" and request.method == "POST":
            form = await request.post()
            password = form.get("password")
            if self._is_secret(password if isinstance(password, str) else None):
                return self._admit(web.HTTPSeeOther("/"))
            await asyncio.sleep(1)  # a guess a second, at most, per connection
            return web_pages.sign_in(status=403, wrong=True)
        token = request.query.get("token")
        if token is not None:
            if not self._is_secret(token):
                await asyncio.sleep(1)
                return web_pages.sign_in(status=403, wrong=True)
            if request.path != "/ws":  # the token off the address bar, as the cookie now
                query = {k: v for k, v in request.query.items() if k != "token"}
                return self._admit(web.HTTPSeeOther(request.rel_url.with_query(query)))
        elif not self._has_cookie(request):
            if request.path == "/ws":
                return web.Response(status=403, text="Sign in first.")
            return web_pages.sign_in(status=403)
        if request.path == "/ws" and not self._same_origin(request):
            return web.Response(status=403, text="Cross-origin websocket refused.")
        return await handler(request)

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: it had the secret, it sent no cookie by accident
        return origin.split("://", 1)[-1] == request.host

    # --- pages -------------------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.gate)
        app.on_shutdown.append(self._close_all)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints its logo here; `campaigns web` says what it serves itself."""

    def _full(self) -> bool:
        return len(self.tabs) + self.reserved >= self.settings.max_sessions

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self._full():
            return web_pages.full(self.settings.max_sessions)
        scheme = "wss" if request.secure else "ws"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    # --- tabs --------------------------------------------------------------------------

    def _say_count(self, what: str, peer: str) -> None:
        say(f"{what} ({peer}); {len(self.tabs)} of {self.settings.max_sessions} open")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if self._full():
            raise web.HTTPServiceUnavailable(text=web_pages.full_text(self.settings.max_sessions))
        self.reserved += 1
        websocket = web.WebSocketResponse(heartbeat=15)
        tab = Tab(request.remote or "?", websocket)
        app: AppProcess | None = None
        try:
            await websocket.prepare(request)
            app = AppProcess(
                self.settings,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.apps.add(app)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            await app.start(width, height)
            self.tabs.add(tab)
            self.reserved -= 1
            self._say_count(f"tab opened, app pid {app.pid}", tab.peer)
            watch = asyncio.create_task(self._close_when_idle(tab, app))
            try:
                await self._process_input(tab, app)
            finally:
                watch.cancel()
        except asyncio.CancelledError:
            await websocket.close()
        finally:
            if tab in self.tabs:
                self.tabs.discard(tab)
            else:
                self.reserved -= 1
            if app is not None:
                await app.end()
                self.apps.discard(app)
                why = "closed for idleness" if tab.idle_closed else "closed"
                self._say_count(f"tab {why}, app pid {app.pid} ended", tab.peer)
        return websocket

    async def _process_input(self, tab: Tab, app: AppService) -> None:
        """textual-serve's message loop, noting when the tab last sent input."""
        async for message in tab.websocket:
            if message.type != web.WSMsgType.TEXT:
                continue
            envelope = message.json()
            if not isinstance(envelope, list) or not envelope:
                continue
            kind = envelope[0]
            if kind == "stdin" and isinstance(envelope[1], str):
                tab.last_input = time.monotonic()
                await app.send_bytes(envelope[1].encode("utf-8"))
            elif kind == "resize" and isinstance(envelope[1], dict):
                size = envelope[1]
                await app.set_terminal_size(int(size["width"]), int(size["height"]))
            elif kind == "ping":
                await tab.websocket.send_json(["pong", envelope[1]])
            elif kind == "blur":
                await app.blur()
            elif kind == "focus":
                await app.focus()

    async def _close_when_idle(self, tab: Tab, app: AppProcess) -> None:
        """Close the tab after idle_timeout seconds without input, counted from the app's first
        paint (a slow start is not idleness; an app that never paints is given START_WAIT)."""
        timeout = self.settings.idle_timeout
        if timeout is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.painted.wait(), max(timeout, START_WAIT))
            tab.last_input = max(tab.last_input, time.monotonic())
        while (left := tab.last_input + timeout - time.monotonic()) > 0:
            await asyncio.sleep(left)
        tab.idle_closed = True
        await tab.websocket.close(code=IDLE_CLOSE, message=b"closed: no input for too long")

    async def _close_all(self, app: web.Application) -> None:
        for tab in list(self.tabs):
            await tab.websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")

    # --- running -----------------------------------------------------------------------

    async def run(self, ready: Callable[[list[tuple[str, int]]], None]) -> None:
        """Serve until SIGINT, SIGTERM or SIGHUP; ready(addresses) once listening."""
        app = await self._make_app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        try:
            site = web.TCPSite(runner, self.host, self.port, shutdown_timeout=STOP_WAIT)
            await site.start()
            self.addresses = [(str(a[0]), int(a[1])) for a in runner.addresses]
            ready(self.addresses)
            await stop.wait()
            say(f"Stopping: closing {len(self.tabs)} tab(s).")
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await runner.cleanup()
            await asyncio.gather(*(app.end() for app in self.apps))


def serve(server: WebServer, ready: Callable[[list[tuple[str, int]]], None]) -> None:
    asyncio.run(server.run(ready))
