"""`campaigns tracking urls | rotate-key | keys` and `campaigns track`'s source, end to end
against a real database, through tui.cli.main; no secret ever in the output."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from core.tracking import ENV_KEY, TRACK_PREFIX, load_keyring, save_links, verify
from tests.factories import make_campaign, make_recipients
from tui.cli import main

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)


@pytest.fixture
def world(session):
    campaign = make_campaign(session, "camp_cli_track")
    rids = make_recipients(session, campaign, 2, status="sent", sent_at=T0)
    save_links(session, campaign.id, ["https://example.com/a"])
    # Written by another program, past save_links's checks: shown literally, never run.
    session.execute(
        text("INSERT INTO campaign_links VALUES (:c, 2, :u)"),
        {"c": campaign.id, "u": "https://example.com/b\x1b[31m"},
    )
    email = session.execute(
        text("SELECT email_address FROM campaign_recipients WHERE id = :id"), {"id": rids[0]}
    ).scalar_one()
    session.commit()
    return campaign.id, rids, email


@pytest.fixture
def cli(db_url, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([*args, "--database-url", db_url])
        except SystemExit as exc:  # argparse refusing an argument
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _secrets(session) -> list[str]:
    """Every stored secret as hex, base64url and base64: none may appear in any output."""
    found = []
    for (secret,) in session.execute(text("SELECT secret FROM tracking_keys")):
        raw = bytes(secret)
        found += [raw.hex(), base64.urlsafe_b64encode(raw).decode()[:20]]
        found += [base64.b64encode(raw).decode()[:20]]
    return found


def _no_secret(session, *outputs: str) -> None:
    for secret in _secrets(session):
        for output in outputs:
            assert secret not in output


def test_urls_prints_open_unsubscribe_and_each_click_with_its_target(cli, session, world):
    pk, rids, email = world
    code, out, err = cli(
        "tracking", "urls", "camp_cli_track", email, "--public-url", "https://t.example.com/"
    )
    assert code == 0, err
    lines = out.splitlines()
    kinds = [line.split("\t")[0] for line in lines]
    assert kinds == ["open", "unsubscribe", "click 1", "click 2"]
    base = f"https://t.example.com{TRACK_PREFIX}/"
    token = lines[0].split("\t")[1][len(base) : -len("/open")]
    session.rollback()
    claim = verify(load_keyring(session), token)
    assert claim is not None and (claim.campaign_pk, claim.recipient_id) == (pk, rids[0])
    assert lines[2].split("\t")[2] == "https://example.com/a"
    assert "\x1b" not in out and lines[3].endswith("\\x1b[31m")  # shown, never run
    _no_secret(session, out, err)
    code, out, _ = cli("tracking", "urls", "camp_cli_track", email, "--json")
    data = json.loads(out)
    assert data["open"].startswith("http://127.0.0.1:8040/") and len(data["clicks"]) == 2


def test_urls_refuses_bad_input_with_a_message(cli, session, world):
    _, _, email = world
    for args, message in [
        (("camp_none", email), "No campaign"),
        (("camp_cli_track", "nobody@example.com"), "No recipient"),
        (("camp_cli_track", email, "--public-url", "ftp://x"), "http or https"),
    ]:
        code, out, err = cli("tracking", "urls", *args)
        assert code == 1 and out == "" and message in err, err
    assert session.execute(text("SELECT count(*) FROM tracking_keys")).scalar_one() == 0


def test_rotate_key_and_keys_show_ids_and_times_but_no_secret(cli, session, world):
    _, _, email = world
    cli("tracking", "urls", "camp_cli_track", email)  # makes the first key
    code, out, err = cli("tracking", "rotate-key", "--grace", "7d")
    assert code == 0, err
    assert out.startswith("new signing key 2 (created ")
    assert "key 1 stay valid until" in out or "key 1 stays valid until" in out
    code, listed, err = cli("tracking", "keys")
    assert code == 0, err
    rows = [line.split("\t") for line in listed.splitlines()[1:]]
    assert [(r[0], r[3]) for r in rows] == [("2", "signs"), ("1", "verifies")]
    assert rows[0][2] == "-" and rows[1][2].endswith("UTC")
    session.rollback()
    _no_secret(session, out, err, listed)
    assert session.execute(text("SELECT count(*) FROM tracking_keys")).scalar_one() == 2


@pytest.mark.parametrize("grace", ["thirty", "-1d", "30y", "99999999d", ""])
def test_rotate_key_refuses_a_bad_grace_and_writes_nothing(cli, session, world, grace):
    code, out, err = cli("tracking", "rotate-key", f"--grace={grace}")
    assert code == 2 and out == "" and ("duration" in err or "too long" in err)
    assert session.execute(text("SELECT count(*) FROM tracking_keys")).scalar_one() == 0


def test_rotate_key_is_refused_while_the_environment_key_is_set(cli, session, world, monkeypatch):
    secret = "ab" * 32
    monkeypatch.setenv(ENV_KEY, secret)
    code, out, err = cli("tracking", "rotate-key")
    assert code == 1 and out == "" and ENV_KEY in err and secret not in err
    code, listed, err = cli("tracking", "keys")
    assert code == 0 and "0\t-\t-\tsigns (from $CAMPAIGN_CONSOLE_TRACKING_KEY)" in listed
    assert secret not in listed
    assert session.execute(text("SELECT count(*) FROM tracking_keys")).scalar_one() == 0


def test_track_records_source_import_unless_a_line_names_one(cli, session, world, tmp_path):
    _, rids, _ = world
    lines = [
        {"event_type": "open", "recipient_id": rids[0]},
        {"event_type": "click", "recipient_id": rids[0], "source": "link", "dedup_key": "hit:1"},
        {"event_type": "click", "recipient_id": rids[0], "source": "link", "dedup_key": "hit:1"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, out, err = cli("track", str(path))
    assert code == 0, err
    assert out.strip() == "recorded 2 events, 1 already recorded"
    stored = session.execute(text("SELECT source, dedup_key FROM email_tracking ORDER BY id")).all()
    assert [tuple(r) for r in stored] == [("import", None), ("link", "hit:1")]
