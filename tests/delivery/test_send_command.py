"""`campaigns send` as a real process: AUTH with the password never on its command line nor
in its output, a clean stop on SIGTERM and SIGINT (in-flight messages recorded, the rest
released, its heartbeat gone), kill -9 at random moments, bad arguments as one-line errors."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from core import campaigns
from tests.core.test_counters import assert_counters_match
from tests.delivery.data import recipients, running_campaign
from tests.delivery.process import kill_nine_run, start_send
from tests.delivery.relay import Behaviour, LoopbackRelay

PASSWORD = "S3cr/t@pw"


class _Auth:
    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        login = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append(login)
        return AuthResult(success=login == ("mailer", PASSWORD))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_with_a_password_that_never_shows(db, db_url, tmp_path):
    auth = _Auth()
    relay = LoopbackRelay(Behaviour(hold=0.005))
    from aiosmtpd.controller import Controller

    relay.controller = Controller(
        relay.behaviour,
        hostname="127.0.0.1",
        port=relay.port,
        authenticator=auth,
        auth_require_tls=False,
        auth_required=True,
    )
    relay.controller.start()
    pk, _ids = running_campaign(db, "camp_auth", [f"a{i}@x.test" for i in range(100)])
    url = f"smtp://mailer:{PASSWORD}@127.0.0.1:{relay.port}"
    sender = start_send(db_url, tmp_path, "--smtp", url, "--rate", "50", "--until-done")
    try:
        cmdline = Path(f"/proc/{sender.process.pid}/cmdline")
        sender.wait_for("started")
        seen = cmdline.read_bytes()
        assert b"send" in seen and b"S3cr" not in seen and b"--smtp" not in seen
        assert sender.process.wait(120) == 0, sender.stderr()
    finally:
        relay.stop()
    assert "S3cr" not in sender.stderr() and "mailer:***@127.0.0.1" in sender.stderr()
    assert set(auth.logins) == {("mailer", PASSWORD)}
    assert {row[0] for row in recipients(db, pk).values()} == {"sent"}
    assert len(relay.behaviour.received) == 100


@pytest.mark.parametrize("sig", [signal.SIGTERM])  # SIGINT and SIGHUP: make soak
def test_a_signal_stops_it_cleanly(db, db_url, tmp_path, sig):
    relay = LoopbackRelay(Behaviour(hold=0.02)).start()
    pk, _ids = running_campaign(db, f"camp_sig{int(sig)}", [f"s{i}@x.test" for i in range(2000)])
    sender = start_send(db_url, tmp_path, "--smtp", relay.url, "--connections", "3")
    try:
        sender.wait_for("started")
        deadline = time.monotonic() + 60
        while len(relay.behaviour.received) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        with db.reading() as s:
            assert campaigns.senders_at_work(s, pk)  # its heartbeat says so
        assert sender.stop(sig) == 0, sender.stderr()
    finally:
        relay.stop()
    assert "stopped: sent" in sender.stderr()
    rows = recipients(db, pk)
    sent = [a for a, row in rows.items() if row[0] == "sent"]
    assert {row[0] for row in rows.values()} == {"sent", "pending"}  # none left leased
    assert sorted(sent) == sorted(relay.behaviour.received_by())  # each received one recorded
    with db.reading() as s:
        assert not s.scalar(text("SELECT count(*) FROM delivery_senders"))
    assert_counters_match(db_url)


def test_kill_nine_at_random_moments_skips_no_recipient(db, db_url, tmp_path):
    figures = kill_nine_run(db, db_url, tmp_path, recipients=300, kills=2, rate=150, seed=16)
    print(figures)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--smtp", "http://x:1"], "is not smtp://host:port or smtps://host:port"),
        (["--smtp", "smtp://u:Hidden99@h:25?bogus=1"], "unknown option bogus"),
        (["--smtp", "smtp://h:25", "--message-source", "nowhere:build"], "No message source"),
        (["--smtp", "smtp://h:25", "--message-source", "core.messages:nothing"], "has no function"),
        ([], "No relay: give --smtp"),
    ],
)
def test_bad_arguments_are_one_line_errors(db_url, monkeypatch, capsys, args, message):
    from tui.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("CAMPAIGN_CONSOLE_SMTP_URL", raising=False)
    assert main(["send", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert "Hidden99" not in err


def test_alarms_shows_and_sets_a_campaigns_thresholds(db, db_url, monkeypatch, capsys):
    from core.delivery import alarm_settings
    from tui.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    pk, _ = running_campaign(db, "camp_alarms", ["a@x.test"])
    assert main(["alarms", "camp_alarms"]) == 0
    assert "errors: pause when over 50 % of the last 100 attempts failed" in capsys.readouterr().out
    assert main(["alarms", "camp_alarms", "--error-percent", "20", "--bounce-percent", "2.5"]) == 0
    out = capsys.readouterr().out
    assert "over 20 % of the last 100" in out and "bounces: pause at 2.5 % of sent" in out
    with db.reading() as s:
        settings = alarm_settings(s, pk)
    assert (settings.error_percent, settings.bounce_percent) == (20.0, 2.5)
    with pytest.raises(SystemExit) as refused:  # argparse: exit 2, nothing written
        main(["alarms", "camp_alarms", "--error-percent", "120"])
    assert refused.value.code == 2
    assert "120 is not between 0 and 100" in capsys.readouterr().err
    assert main(["alarms", "camp_nope", "--error-window", "5"]) == 1
    assert "No campaign 'camp_nope'" in capsys.readouterr().err
