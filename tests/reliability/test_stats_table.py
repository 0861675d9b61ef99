"""`campaigns stats` prints a table whose columns line up, whatever the ids' and figures'
widths: a heading, text columns left-aligned, figures right-aligned, the name last."""

from __future__ import annotations

import psycopg
import pytest

from tests.reliability.hostile import make_world
from tui.cli import main


@pytest.fixture(scope="module")
def url(module_db_url):
    w = make_world(module_db_url)
    with psycopg.connect(module_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, status, emails_sent, emails_opened)"
            " VALUES ('c', 'Short id', 'draft', 0, 0),"
            " ('camp_with_a_rather_long_identifier_2026', 'Long id', 'completed', 1234567, 7)"
        )
    yield module_db_url
    w.db.close()


def test_the_columns_line_up(url, capsys):
    assert main(["stats", "--database-url", url]) == 0
    heading, *lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 5
    names = ["CAMPAIGN", "STATUS", "RECIPIENTS", "SENT", "OPEN %", "CLICK %", "REPLY %"]
    names += ["BOUNCE %", "NAME"]
    starts = [heading.index(n) for n in names]
    assert starts == sorted(starts)
    for line in lines:
        # Left-aligned text starts under its heading; right-aligned figures end under theirs;
        # two blanks or more between columns.
        for i, name in enumerate(names[:-1]):
            start, end = starts[i], starts[i] + len(name)
            if i < 2:
                assert line[start] != " " and (start == 0 or line[start - 1] == " "), line
            else:
                assert line[end - 1] != " " and line[end : end + 2] == "  ", (name, line)
        assert line[starts[-1] - 2 : starts[-1]] == "  " and line[starts[-1]] != " ", line
    wide = next(x for x in lines if x.startswith("camp_with_a_rather_long_identifier_2026"))
    assert "1,234,567" in wide and wide.endswith("Long id")
