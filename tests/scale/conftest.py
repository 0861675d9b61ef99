"""Past one machine: a primary with a streaming standby, and PgBouncer, started by the tests.

The pair (an embedded primary and its standby, tests.standby) is started once per module and
removed after it, also when a test fails; each test gets a database of its own, cloned on
the primary from a migrated template and replayed on the standby before the test starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from core.store import Database
from tests.conftest import EmbeddedServer, start_embedded
from tests.scratch import migrated_database, scratch_database
from tests.standby import Standby, start_standby


@dataclass
class Pair:
    primary: EmbeddedServer
    standby: Standby
    template_url: str


@dataclass
class Replicated:
    """A test's database: on the primary (url) and on the standby (replica_url)."""

    pair: Pair
    url: str
    replica_url: str

    def database(self, **kwargs) -> Database:
        return Database(self.url, replica_url=self.replica_url, **kwargs)

    def caught_up(self) -> None:
        self.pair.standby.wait_for_replay(self.url)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    primary = start_embedded("cc-test-primary-")
    try:
        with migrated_database(primary.admin_url, "cc_rtpl") as template:
            standby = start_standby(primary)
            try:
                yield Pair(primary, standby, template)
            finally:
                standby.remove()
    finally:
        primary.remove()


@pytest.fixture
def replicated(pair) -> Iterator[Replicated]:
    with scratch_database(pair.primary.admin_url, "cc_r", template_url=pair.template_url) as url:
        pair.standby.start_if_stopped()
        pair.standby.wait_for_replay(url)
        yield Replicated(pair, url, pair.standby.url_of(url))
