"""Soak: a 100,000-row CSV imported through the `campaigns` command in one go (one transaction,
set-based), timed. The default suite keeps the fast half of this case: the same file refused
as a whole when its last line is not UTF-8 (tests/reliability/test_hostile_cli.py)."""

from __future__ import annotations

import time

import psycopg

from tests.reliability.conftest import counter_drift
from tui.cli import main

ROWS = 100_000


def test_a_100000_row_csv_imports_in_one_go(db_url, capsys, tmp_path):
    path = tmp_path / "big.csv"
    rows = "".join(f"user{i}@big.example.com,User {i},Co {i % 97}\n" for i in range(ROWS))
    path.write_text("email,name,company\n" + rows, encoding="utf-8")
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO campaigns (campaign_id, name) VALUES ('camp_big', 'Big')")
    started = time.perf_counter()
    code = main(["import-recipients", "camp_big", str(path), "--database-url", db_url])
    took = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"imported {ROWS:,} recipients" in out and f"{ROWS:,} new leads" in out
    with psycopg.connect(db_url) as conn:
        total = conn.execute("SELECT total_recipients FROM campaigns").fetchone()[0]
    assert total == ROWS and counter_drift(db_url) == []
    print(f"\n{ROWS:,}-row CSV import through the CLI: {took:.1f} s ({ROWS / took:,.0f} rows/s)")
