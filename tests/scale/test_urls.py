"""--replica-url and --listen-url: found as argparse finds them, moved off the command line,
and their passwords masked wherever the database URL's are."""

from __future__ import annotations

from sqlalchemy import text

from core import config
from core.store import Database
from tui.cli.main import build_parser
from tui.hide_url import without_url_flags


def test_url_flags_are_taken_out_of_argv_with_their_prefixes():
    argv = [
        "--database-url=postgresql://a:pw1@h/db",
        "--rep",
        "postgresql://b:pw2@standby/db",
        "--lis=postgresql://c:pw3@primary/db",
        "--read-only",
        "export",
        "--limit",
        "5",
    ]
    rest, urls = without_url_flags(argv)
    assert rest == ["--read-only", "export", "--limit", "5"]
    assert urls == {
        "DATABASE_URL": "postgresql://a:pw1@h/db",
        "DATABASE_REPLICA_URL": "postgresql://b:pw2@standby/db",
        "DATABASE_LISTEN_URL": "postgresql://c:pw3@primary/db",
    }
    # What the parser would read from the same prefixes.
    args = build_parser().parse_args(["--rep", "r", "--lis", "l"])
    assert (args.replica_url, args.listen_url) == ("r", "l")


def test_the_flag_wins_over_the_environment():
    env = {"DATABASE_REPLICA_URL": "postgresql://env/db", "DATABASE_LISTEN_URL": "x"}
    assert config.replica_url("postgresql://flag/db", env) == "postgresql://flag/db"
    assert config.replica_url(None, env) == "postgresql://env/db"
    assert config.listen_url(None, env) == "x"
    assert config.replica_url(None, {}) is None


def test_an_unreachable_replica_is_said_with_its_password_masked(db_url):
    db = Database(db_url, replica_url="postgresql://u:sekrit@127.0.0.1:1/x?connect_timeout=2")
    try:
        assert db.replica is not None
        status = db.replica.check()
        assert status.state.value == "gone"
        assert "sekrit" not in status.detail and "cannot reach it" in status.detail
        with db.reading() as session:  # the primary's
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.close()


def test_a_replica_that_is_not_a_standby_is_not_read(db_url):
    db = Database(db_url, replica_url=db_url)
    try:
        assert db.replica is not None
        status = db.replica.check()
        assert status.state.value == "not a standby"
    finally:
        db.close()
