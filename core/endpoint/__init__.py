"""core.endpoint: the tracking endpoint, an ASGI app (app) on uvicorn (serve) that turns opens,
clicks and unsubscribes into events. Hits are verified against the keyring in memory, written
in batches by the writer, spooled to disk while the database is away (spool), counted for
/metrics (metrics); the client's address comes from the peer or trusted proxies (proxy).
Nothing else in core imports this package: it is a program of its own, run by `campaigns
serve` through run()."""

from core.endpoint.app import check_environment, create_app
from core.endpoint.serve import listening_url, run
from core.endpoint.settings import (
    DEFAULT_PORT,
    WRITE_MODES,
    EndpointSettings,
    default_spool_dir,
    networks,
)
from core.endpoint.spool import prepare_directory as prepare_spool_directory

__all__ = [
    "DEFAULT_PORT",
    "WRITE_MODES",
    "EndpointSettings",
    "check_environment",
    "create_app",
    "default_spool_dir",
    "listening_url",
    "networks",
    "prepare_spool_directory",
    "run",
]
