"""What the endpoint runs with: EndpointSettings, and its trip through the environment to the
worker processes uvicorn starts (the database URL in a variable of its own, never in argv)."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from core import config
from core.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV_SETTINGS = "CAMPAIGN_CONSOLE_ENDPOINT"  # JSON of everything but the URL
ENV_DATABASE_URL = "CAMPAIGN_CONSOLE_ENDPOINT_DATABASE_URL"
DEFAULT_PORT = 8040
# batched: hits grouped into one transaction (the endpoint's way); per-hit: one transaction
# each, on a pool, as listmonk writes them; none: answer without writing. The last two are
# for the benchmark's baselines.
WRITE_MODES = ("batched", "per-hit", "none")


def default_spool_dir(env: Mapping[str, str] | None = None) -> Path:
    return config.state_home(env) / "spool"


@dataclass(frozen=True)
class EndpointSettings:
    database_url: str = field(repr=False)  # may hold a password: never shown
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    # X-Forwarded-For is believed only from a peer in these networks.
    trusted_proxies: tuple[Network, ...] = ()
    batch_size: int = 256  # hits in one transaction at most
    max_wait_ms: float = 1.0  # how long the writer waits for more hits to join a batch
    writers: int = 2  # batches in flight at once (each its own connection)
    spool_dir: Path = field(default_factory=default_spool_dir)
    writes: str = "batched"
    # The keys are re-read this often (never per request): a key made by a rotation verifies
    # within this long, and a retired one stops.
    keyring_refresh_s: float = 5.0
    replay_every_s: float = 0.5  # how often a spool is tried against the database
    # A batch that takes longer (stuck behind another transaction's locks, say) is spooled.
    write_timeout_s: float = 5.0
    link_cache_size: int = 10_000

    def __post_init__(self) -> None:
        if self.writes not in WRITE_MODES:
            raise InvalidInput(
                f"writes must be one of {', '.join(WRITE_MODES)}, not {self.writes!r}"
            )
        if self.batch_size < 1 or self.writers < 1 or self.workers < 1:
            raise InvalidInput("batch size, writers and workers must each be at least 1")
        if not 0 <= self.port <= 65535:
            raise InvalidInput(f"port {self.port} is not a TCP port (0 to 65535)")

    def to_env(self) -> dict[str, str]:
        """The variables a worker process rebuilds these settings from (from_env)."""
        values: dict[str, Any] = asdict(self)
        del values["database_url"]
        values["trusted_proxies"] = [str(n) for n in self.trusted_proxies]
        values["spool_dir"] = str(self.spool_dir)
        return {ENV_SETTINGS: json.dumps(values), ENV_DATABASE_URL: self.database_url}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EndpointSettings:
        env = os.environ if env is None else env
        values = json.loads(env[ENV_SETTINGS])
        values["trusted_proxies"] = networks(values["trusted_proxies"])
        values["spool_dir"] = Path(values["spool_dir"])
        return cls(database_url=env[ENV_DATABASE_URL], **values)

    def with_port(self, port: int) -> EndpointSettings:
        return replace(self, port=port)


def networks(texts: Sequence[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; InvalidInput names a bad one."""
    found: list[Network] = []
    for text in texts:
        try:
            found.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise InvalidInput(
                f"{text!r} is not an IP network (expected a CIDR like 10.0.0.0/8 or an address "
                "like 127.0.0.1)"
            ) from None
    return tuple(found)
