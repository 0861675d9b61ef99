"""The embedded server's system user is created once when many processes start at once.

On a fresh machine, as root, both test workers (or two `campaigns` runs) started a server at
the same moment, both found no user and both ran useradd; one of them failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root creates system users")

STARTERS = 4
RACE = """
import sys, time
from core.store.server import ensure_system_user
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(ensure_system_user(sys.argv[1]).pw_uid)
"""


def test_many_processes_create_the_user_once():
    name = f"cc_t{uuid.uuid4().hex[:10]}"
    at = time.time() + 1.5  # every starter imports first, then all ask at once
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, name, str(at)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(STARTERS)
        ]
        results = [(p.wait(60), *p.communicate()) for p in procs]
        assert [rc for rc, _, _ in results] == [0] * STARTERS, results
        assert len({out.strip() for _, out, _ in results}) == 1, results
    finally:
        subprocess.run(["userdel", name], capture_output=True)
    assert subprocess.run(["id", name], capture_output=True).returncode != 0
