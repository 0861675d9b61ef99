"""An SMTP sink for the send benchmark, in a process of its own (so that its work does not
share the measured process's interpreter): aiosmtpd on 127.0.0.1:PORT answering 250 to
everything, keeping nothing but a count. `python -m tests.benchmarks.smtp_sink PORT`; prints
"ready" once listening; SIGTERM stops it."""

from __future__ import annotations

import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 2.0.0 OK"


def main() -> None:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=int(sys.argv[1]), ready_timeout=30)
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    controller.stop()
    print(sink.count, flush=True)


if __name__ == "__main__":
    main()
