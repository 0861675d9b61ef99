"""One database and one `campaigns serve` process for a whole module of route tests (starting
the server costs seconds), each test with recipients of its own."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from core.store import Database
from tests.endpoint.server import Server, World, make_world, start_server
from tests.scratch import scratch_database

_names = itertools.count(1)
PUBLIC_URL = "https://t.example.com/mail"


@pytest.fixture(scope="module")
def module_db_url(pg_admin_url, template_url) -> Iterator[str]:
    with scratch_database(pg_admin_url, "cc_ep", template_url=template_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_db(module_db_url) -> Iterator[Database]:
    database = Database(module_db_url)
    yield database
    database.close()


@pytest.fixture(scope="module")
def server(module_db, module_db_url, tmp_path_factory) -> Iterator[Server]:
    make_world(module_db, 1, "camp_ep_key")  # the first key, made before the server starts
    spool = tmp_path_factory.mktemp("endpoint") / "spool"
    # 127.0.0.2 is a trusted proxy: tests connect from it to send X-Forwarded-For.
    started = start_server(
        module_db_url,
        spool,
        *("--trusted-proxy", "127.0.0.2/32", "--public-url", PUBLIC_URL),
    )
    yield started
    assert started.stop() == 0, started.stderr()


@pytest.fixture
def world(module_db) -> World:
    """A campaign of this test's own on the module's database."""
    return make_world(module_db, 5, f"camp_ep{next(_names)}")


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10, follow_redirects=False) as c:
        yield c
