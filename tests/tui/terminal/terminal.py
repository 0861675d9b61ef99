"""The real app in a real pseudo-terminal: keys go in as the bytes a terminal sends, the screen
comes back as text through a terminal emulator (pyte), as a person would see it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pyte

CAMPAIGNS = Path(sys.executable).with_name("campaigns")
# Synchronized output (mode 2026): a terminal shows a frame only when it is complete.
BEGIN_FRAME, END_FRAME = b"\x1b[?2026h", b"\x1b[?2026l"

# What a terminal (xterm, and every emulator that follows it) sends for a key.
KEY_BYTES: dict[str, bytes] = {
    "enter": b"\r",
    "escape": b"\x1b",
    "tab": b"\t",
    "backspace": b"\x7f",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "f1": b"\x1bOP",
    **{f"ctrl+{c}": bytes([ord(c) - 96]) for c in "abcdefgjklnopqrstuvwxyz"},
}


class Terminal:
    """One process on a pty of `size`; its output drives a pyte screen in a reader thread."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        size: tuple[int, int] = (80, 24),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.columns, self.lines = size
        self.screen = pyte.Screen(self.columns, self.lines)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()  # everything the app wrote, for sequences pyte drops (OSC 52)
        self._lock = threading.Lock()
        self._pending = b""  # the start of a frame not yet complete
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.lines, self.columns, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        full_env.pop("NO_COLOR", None)
        full_env.update(env or {})
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.fd = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.raw += data
                data, self._pending = self._pending + data, b""
                begin, end = data.rfind(BEGIN_FRAME), data.rfind(END_FRAME)
                if begin > end:
                    data, self._pending = data[:begin], data[begin:]
                self.stream.feed(data)

    # -- driving ---------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Write bytes to the terminal's input as one write (a burst, as over SSH). After a
        lone Escape at the end, wait out the app's ESCDELAY (100 ms), as a person does: an
        Escape followed at once by a key is that key with Alt."""
        os.write(self.fd, data)
        if data.endswith(b"\x1b"):
            time.sleep(0.15)

    def press(self, *keys: str) -> None:
        """Each key by its name in KEY_BYTES, or as the characters typed."""
        for key in keys:
            self.send(KEY_BYTES.get(key, key.encode()))

    # -- reading ---------------------------------------------------------------------------
    def screen_text(self) -> str:
        with self._lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def line(self, n: int) -> str:
        with self._lock:
            return self.screen.display[n].rstrip()

    def wait_for(
        self,
        what: str | re.Pattern[str] | Callable[[str], object],
        timeout: float = 10.0,
    ) -> str:
        """Poll the screen until `what` (text, a regex or a predicate on the text) holds;
        returns the screen. Fails with the last screen shown."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen_text()
            if _holds(what, text):
                return text
            if self.process.poll() is not None:
                raise AssertionError(f"the app exited ({self.process.returncode}):\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen after {timeout} s: {what!r}\n{text}")
            time.sleep(0.02)

    def wait_for_raw(self, data: bytes, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while data not in bytes(self.raw):
            if time.monotonic() > deadline:
                raise AssertionError(f"{data!r} never written to the terminal")
            time.sleep(0.02)

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 10.0) -> str:
        """Wait until the screen stopped changing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last, since = self.screen_text(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.03)
            now = self.screen_text()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return last

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.send(b"\x11")  # ctrl+q
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _holds(what, text: str) -> bool:
    if isinstance(what, str):
        return what in text
    if isinstance(what, re.Pattern):
        return what.search(text) is not None
    return bool(what(text))


def spawn_app(database_url: str, *args: str, size=(80, 24), env=None) -> Terminal:
    """`campaigns --database-url URL ARGS` in a terminal of `size`."""
    return Terminal([str(CAMPAIGNS), "--database-url", database_url, *args], size=size, env=env)
