"""`campaigns db backup|restore|psql` end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tui.cli import main

CAMPAIGNS = Path(sys.executable).parent / "campaigns"


def test_backup_then_restore_refused_into_the_same_database(ids, db_url, tmp_path, capsys):
    dump = tmp_path / "x.dump"
    assert main(["db", "backup", "-o", str(dump), "--database-url", db_url]) == 0
    assert f"wrote {dump}" in capsys.readouterr().out
    assert main(["db", "restore", str(dump), "--database-url", db_url]) == 1
    err = capsys.readouterr().err
    assert "error: The database is not empty; a restore would overwrite" in err
    assert "campaigns (" in err and "--force" in err


def test_restore_into_an_empty_database(ids, db_url, empty_db_url, tmp_path, capsys):
    dump = tmp_path / "x.dump"
    assert main(["db", "backup", "-o", str(dump), "--database-url", db_url]) == 0
    assert main(["db", "restore", str(dump), "--database-url", empty_db_url]) == 0
    assert "restored" in capsys.readouterr().out
    assert main(["stats", "camp_spring", "--json", "--database-url", empty_db_url]) == 0
    assert '"emails_sent": 17' in capsys.readouterr().out


def test_psql_opens_on_the_database(ids, db_url):
    done = subprocess.run(
        [str(CAMPAIGNS), "db", "psql", "--database-url", db_url],
        input="SELECT count(*) || ' campaigns' FROM campaigns;\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert " campaigns" in done.stdout
