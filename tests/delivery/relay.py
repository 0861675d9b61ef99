"""A real SMTP server (aiosmtpd) on a loopback port for the sender's tests, whose answers
depend on the recipient's local part:

    ok...        250
    greylist...  421 4.7.0 at RCPT the first time, 250 after
    busy...      451 4.3.0 at RCPT, for ever
    nouser...    550 5.1.1 at RCPT (no such user)
    rejected...  554 5.6.0 at DATA (a permanent failure that is no bounce)
    drop...      the connection dropped at the end of DATA (no reply) the first time, 250 after
    slow...      250 after SLOW_S
    anything else 250

It keeps what it accepted (envelope and bytes, parsed on demand), counts every RCPT by
address, and tracks the most messages in DATA at once per recipient domain.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

SLOW_S = 0.3


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Behaviour:
    def __init__(self, hold: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.rcpts: collections.Counter[str] = collections.Counter()
        self.dropped: set[str] = set()
        self.in_data: collections.Counter[str] = collections.Counter()
        self.most_in_data: collections.Counter[str] = collections.Counter()
        self.hold = hold  # every accepted message waits this long before its 250
        self.started: list[float] = []  # time.monotonic() of each RCPT

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        with self.lock:
            self.started.append(time.monotonic())
            self.rcpts[address] += 1
            first = self.rcpts[address] == 1
        if local.startswith("greylist") and first:
            return "421 4.7.0 Greylisted, try again later"
        if local.startswith("busy"):
            return "451 4.3.0 Mailbox busy, try again later"
        if local.startswith("nouser"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        address = envelope.rcpt_tos[0]
        local, _, domain = address.partition("@")
        local = local.lower()
        if local.startswith("rejected"):
            return "554 5.6.0 Message content rejected"
        if local.startswith("drop"):
            with self.lock:
                first = address not in self.dropped
                self.dropped.add(address)
            if first:
                server.transport.close()
                return "421 closing"  # never reaches the client: the line is gone
        with self.lock:
            self.in_data[domain] += 1
            self.most_in_data[domain] = max(self.most_in_data[domain], self.in_data[domain])
        try:
            if local.startswith("slow"):
                await asyncio.sleep(SLOW_S)
            if self.hold:
                await asyncio.sleep(self.hold)
            with self.lock:
                self.received.append(
                    Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
                )
        finally:
            with self.lock:
                self.in_data[domain] -= 1
        return "250 2.0.0 OK queued"

    def received_by(self) -> dict[str, list[Received]]:
        by: dict[str, list[Received]] = collections.defaultdict(list)
        with self.lock:
            for r in self.received:
                by[r.rcpt_to[0]].append(r)
        return by


class LoopbackRelay:
    """The server on 127.0.0.1:port; stop() and start() again on the same port."""

    def __init__(self, behaviour: Behaviour | None = None, port: int | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.port = port or free_port()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> LoopbackRelay:
        self.controller = Controller(
            self.behaviour, hostname="127.0.0.1", port=self.port, ready_timeout=10
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
