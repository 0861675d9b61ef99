"""Soak tests (soak_*.py; `make soak`, not part of `make test`). They run on an embedded server
configured as a user's would be (durable commits), the benchmarks' server."""

from tests.benchmarks.conftest import pg_admin_url  # noqa: F401  (overrides the suite's)
