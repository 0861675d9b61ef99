"""Running the endpoint on uvicorn: run(settings), so that the command line (tui.cli.serve)
starts it without importing a web framework itself.

The listening socket is bound here, before any worker starts, so the address it announces is
the real one (port 0 picks a free port). Workers are uvicorn's: each process calls
core.endpoint.app:app_from_env, which reads the settings from the environment (the database
URL in a variable of its own, never in argv, where `ps` would show it). SIGTERM and SIGINT stop
it cleanly: requests in flight are answered, the writer drains, the spool is let go.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import FrameType

import uvicorn
from uvicorn.supervisors import Multiprocess

from core.endpoint.settings import EndpointSettings

FACTORY = "core.endpoint.app:app_from_env"
GRACEFUL_SECONDS = 10
CONNECT_TIMEOUT = "5"  # seconds


def _config(settings: EndpointSettings) -> uvicorn.Config:
    return uvicorn.Config(
        FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=False,  # core.endpoint.proxy reads X-Forwarded-For, from trusted peers only
        server_header=False,
        date_header=True,
        access_log=False,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )


def listening_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(settings: EndpointSettings, announce: Callable[[str], None] = print) -> None:
    """Serve until SIGTERM, SIGINT or (one worker) SIGHUP; announce(url) once the socket
    listens."""
    os.environ.update(settings.to_env())
    # A database host that doesn't answer at all (not even a refusal) must not hold the hits
    # for libpq's default of waiting for ever: after this long they go to the spool.
    os.environ.setdefault("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT)
    config = _config(settings)
    sock = config.bind_socket()
    port = sock.getsockname()[1]
    announce(listening_url(settings.host, port))
    # uvicorn raises the signal that stopped it again once it has stopped; a handler that
    # does nothing makes that the end of a clean stop, not an exception.
    previous = {s: signal.signal(s, _ignore) for s in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.getsignal(signal.SIGHUP)
    try:
        if settings.workers > 1:
            Multiprocess(config, sockets=[sock]).run()  # SIGHUP: uvicorn restarts the workers
        else:
            server = uvicorn.Server(config)

            def hang_up(signum: int, frame: FrameType | None) -> None:
                server.handle_exit(signal.SIGTERM, frame)  # a dropped session: stop cleanly

            signal.signal(signal.SIGHUP, hang_up)
            server.run(sockets=[sock])
    finally:
        sock.close()
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)


def _ignore(signum: int, frame: FrameType | None) -> None:
    pass
