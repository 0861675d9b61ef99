from pathlib import Path

import pytest

from core import config
from core.errors import DatabaseUnavailable
from core.store import libpq_url, sqlalchemy_url


def test_flag_beats_environment_beats_embedded():
    env = {"DATABASE_URL": "postgresql://env/db"}
    assert config.resolve("postgresql://flag/db", env) == config.DatabaseTarget(
        "postgresql://flag/db", "flag"
    )
    assert config.resolve(None, env).url == "postgresql://env/db"
    assert config.resolve(None, {}).embedded


def test_embedded_data_dir_follows_xdg_and_can_be_overridden():
    assert config.pgdata_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/campaign-console/pgdata")
    assert config.pgdata_dir({"XDG_DATA_HOME": "/x", "CAMPAIGN_CONSOLE_PGDATA": "/y"}) == Path("/y")


def test_embedded_data_dir_of_root_is_under_var_lib_and_of_a_user_in_the_home(monkeypatch):
    """Root's home is 0700 and the server runs as its own system user, which could not reach
    ~/.local/share there (the first `make run` as root refused to start)."""
    monkeypatch.setattr(config.os, "geteuid", lambda: 0)
    assert config.pgdata_dir({}) == Path("/var/lib/campaign-console/pgdata")
    assert config.pgdata_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/campaign-console/pgdata")
    monkeypatch.setattr(config.os, "geteuid", lambda: 1000)
    assert config.pgdata_dir({}).parts[-3:] == ("share", "campaign-console", "pgdata")


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("postgresql://bob:s3cret@host:5432/db", "postgresql://bob:***@host:5432/db"),
        (
            "postgresql+psycopg://bob:p%40ss@h/db?sslmode=require",
            "postgresql+psycopg://bob:***@h/db?sslmode=require",
        ),
        ("postgresql://bob@host/db", "postgresql://bob@host/db"),
        ("postgresql://h/db?user=bob&password=hunter2", "postgresql://h/db?user=bob&password=***"),
        ("host=h user=bob password=hunter2 dbname=x", "host=h user=bob password=*** dbname=x"),
        ("host=h password='a b c' dbname=x", "host=h password=*** dbname=x"),
    ],
)
def test_passwords_are_masked(dsn, masked):
    assert config.mask_dsn(dsn) == masked


def test_mask_secrets_scrubs_a_password_quoted_inside_an_error():
    dsn = "postgresql://bob:hunter2@h/db"
    text = f'could not connect to {dsn}: password "hunter2" rejected'
    out = config.mask_secrets(text, dsn)
    assert "hunter2" not in out and "bob:***@h/db" in out


def test_urls_are_normalised_for_sqlalchemy_and_libpq():
    assert sqlalchemy_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert libpq_url("postgresql+psycopg://u:p@h/d") == "postgresql://u:p@h/d"
    with pytest.raises(DatabaseUnavailable, match=r"mysql://u:\*\*\*@h/d"):
        sqlalchemy_url("mysql://u:pw@h/d")
