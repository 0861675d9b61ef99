"""`campaigns web` as a real process for the tests, and a browser tab's screen read back as text.

The screen: textual-serve sends the app's terminal output over the tab's websocket, and
xterm.js paints it on a canvas (no text in the DOM); so the test feeds the same frames the
page got into pyte, sized as the page asked (the websocket URL's width and height, then its
resize messages), and reads pyte's screen.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psutil
import pyte
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 30.0  # seconds for anything to appear: a busy 2-core machine starts an app slowly
_OPEN = re.compile(r"open (http://\S+/)\?token=([0-9a-f]+)")


def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing (CI runs as root)."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.skip("no /usr/bin/chromium, and not root to `apt-get install chromium`")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-q", "chromium"]
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:  # a fresh machine's package lists may be missing or old
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            done = subprocess.run(install, env=env, capture_output=True, text=True)
        assert CHROMIUM.exists(), f"apt-get install chromium failed: {done.stderr[-2000:]}"
    return str(CHROMIUM)


@dataclass
class Web:
    """A running `campaigns web`: its address, its token and what it says on stderr."""

    process: subprocess.Popen[str]
    url: str = ""  # http://127.0.0.1:PORT/
    token: str = ""
    lines: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<exited>")
            self._changed.notify_all()

    def wait_line(self, pattern: str, after: int = 0) -> re.Match[str]:
        """The first stderr line from index `after` on that matches pattern (re.search)."""
        deadline = time.monotonic() + WAIT
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    if found := re.search(pattern, line):
                        return found
                if "<exited>" in self.lines or time.monotonic() > deadline:
                    raise AssertionError(f"no line matching {pattern!r} in {self.lines}")
                self._changed.wait(0.2)

    def apps(self) -> list[psutil.Process]:
        """The app processes it runs (one per open tab)."""
        return psutil.Process(self.process.pid).children()


@contextlib.contextmanager
def campaigns_web(database_url: str, *options: str) -> Iterator[Web]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [sys.executable, "-m", "tui.cli", "--database-url", database_url, "web"]
    process = subprocess.Popen(
        [*command, "--port", "0", *options],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    web = Web(process)
    threading.Thread(target=web._read, daemon=True).start()
    try:
        found = web.wait_line(_OPEN.pattern)
        web.url, web.token = found[1], found[2]
        yield web
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gone(process: psutil.Process) -> bool:
    """Wait (up to WAIT seconds) for the process to end; has it?"""
    _, alive = psutil.wait_procs([process], timeout=WAIT)
    return not alive


class Tab:
    """What a page's app shows, read from its websocket frames (see the module's doc)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.screen: pyte.Screen | None = None
        self._stream: pyte.ByteStream | None = None
        page.on("websocket", self._opened)

    def _opened(self, websocket: Any) -> None:
        query = parse_qs(urlparse(websocket.url).query)
        self.screen = pyte.Screen(int(query["width"][0]), int(query["height"][0]))
        self._stream = pyte.ByteStream(self.screen)
        websocket.on("framereceived", self._received)
        websocket.on("framesent", self._sent)

    def _received(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes) and self._stream is not None:
            self._stream.feed(payload)

    def _sent(self, payload: bytes | str) -> None:
        if isinstance(payload, str) and self.screen is not None:
            message = json.loads(payload)
            if message[0] == "resize":
                self.screen.resize(message[1]["height"], message[1]["width"])

    def text(self) -> str:
        return "" if self.screen is None else "\n".join(self.screen.display)

    def wait_for(self, *texts: str) -> str:
        """The screen once it shows every one of texts (the page's events run meanwhile)."""
        deadline = time.monotonic() + WAIT
        while not all(t in (shown := self.text()) for t in texts):
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} never shown; the screen:\n{shown}")
            self.page.wait_for_timeout(100)
        self.page.wait_for_timeout(300)  # the rest of the frame painted too
        return self.text()
