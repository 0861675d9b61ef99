"""The pure parts of the sender: the relay URL (cut as a database URL is, the password never
shown) and what each reply means."""

from __future__ import annotations

import pytest

from core.delivery import Outcome, Reply, Stage, decide, parse_relay, retry_delay
from core.errors import InvalidInput


def test_a_relay_url_with_every_part():
    relay = parse_relay("smtp://mailer:p@ss/w?rd@relay.example.com:2525?starttls=require&helo=mx1")
    assert (relay.host, relay.port, relay.use_tls, relay.starttls) == (
        "relay.example.com",
        2525,
        False,
        True,
    )
    assert (relay.username, relay.password, relay.helo) == ("mailer", "p@ss/w?rd", "mx1")
    assert relay.display_url == "smtp://mailer:***@relay.example.com:2525?starttls=require&helo=mx1"
    assert "p@ss" not in repr(relay)
    assert relay.mask("535 auth failed for p@ss/w?rd") == "535 auth failed for ***"


@pytest.mark.parametrize(
    ("url", "port", "tls", "starttls", "user"),
    [
        ("smtp://h", 25, False, None, None),
        ("smtps://h", 465, True, None, None),
        ("SMTP://u@h:587", 587, False, None, "u"),
        ("smtp://u%40x:pw@h:587", 587, False, None, "u@x"),
    ],
)
def test_relay_defaults(url, port, tls, starttls, user):
    relay = parse_relay(url)
    assert (relay.port, relay.use_tls, relay.starttls, relay.username) == (
        port,
        tls,
        starttls,
        user,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "No relay"),
        ("http://u:Secret77@h", "is not smtp://host:port"),
        ("smtp://u:Secret77@:25", "names no host"),
        ("smtp://u:Secret77@h:99999", "no usable host and port"),
        ("smtp://u:Secret77@h/path", "has a path"),
        ("smtp://u:Secret77@h?starttls=maybe", "starttls=maybe"),
        ("smtps://u:Secret77@h?starttls=require", "TLS already"),
        ("smtp://u:Secret77@h?timeout=0", "timeout outside"),
        ("smtp://u:Secret77@h?cafile=/no/such.pem", "CA file that is not there"),
        ("smtp://u:Secret77@h?nope=1", "unknown option nope"),
    ],
)
def test_bad_relay_urls_are_refused_with_the_password_masked(url, message):
    with pytest.raises(InvalidInput) as caught:
        parse_relay(url)
    assert message in str(caught.value) and "Secret77" not in str(caught.value)


@pytest.mark.parametrize(
    ("code", "text", "stage", "outcome", "slow"),
    [
        (250, "OK", Stage.DATA, Outcome.SENT, False),
        (421, "4.7.0 Try later", Stage.RCPT, Outcome.RETRY, True),
        (450, "4.7.1 Rate limited", Stage.MAIL, Outcome.RETRY, True),
        (451, "4.3.0 Busy", Stage.RCPT, Outcome.RETRY, False),
        (None, "no reply at DATA", Stage.DATA, Outcome.RETRY, False),
        (535, "5.7.8 Authentication failed", Stage.CONNECT, Outcome.RETRY, False),
        (550, "5.1.1 No such user", Stage.RCPT, Outcome.BOUNCED, False),
        (550, "5.1.1 No such user", Stage.DATA, Outcome.FAILED, False),
        (550, "No such user", Stage.RCPT, Outcome.FAILED, False),
        (554, "5.7.1 Spam", Stage.DATA, Outcome.FAILED, False),
    ],
)
def test_what_a_reply_means(code, text, stage, outcome, slow):
    reply = Reply(code, text, stage)
    assert reply.outcome() == outcome
    assert reply.slow_down is slow


def test_the_last_attempt_of_a_temporary_failure_fails_and_retries_back_off():
    reply = Reply(451, "4.3.0 Busy", Stage.RCPT)
    assert decide(reply, 4, 5) == Outcome.RETRY and decide(reply, 5, 5) == Outcome.FAILED
    assert [retry_delay(n, 60, 3600) for n in (1, 2, 3, 7, 8)] == [60, 120, 240, 3600, 3600]
    assert Reply(451, "4.3.0   Busy\r\n  now", Stage.RCPT).describe() == "451 4.3.0 Busy now"
