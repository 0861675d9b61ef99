"""The providers' signature checks, pure (no server, no database): valid, tampered, wrong key,
stale, replayed, wrong certificate host, SNS SignatureVersion 1 and 2."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.endpoint.webhooks import Webhooks, mailgun, postmark, sendgrid, sns
from core.endpoint.webhooks.common import Refusal
from core.endpoint.webhooks.config import (
    ENV_MAILGUN_SIGNING_KEY,
    ENV_POSTMARK_AUTH,
    ENV_SENDGRID_PUBLIC_KEY,
    WebhookConfig,
)
from core.errors import InvalidInput
from tests.endpoint.signing import CERT_URL, TOPIC, Mailgun, SendGrid, Sns, basic, certificate


@pytest.fixture(scope="module")
def signer() -> Sns:
    return Sns()


def _certs(signer: Sns) -> sns.Certificates:
    return sns.Certificates(signer.fetch, time.time)


def refused(status: int, call, *args, **kwargs) -> str:
    with pytest.raises(Refusal) as info:
        call(*args, **kwargs)
    assert info.value.status == status, info.value.message
    return info.value.message


# --- SNS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_notification_signed_with_either_version_verifies(signer, version):
    message = signer.notification({"notificationType": "Bounce"}, version=version)
    sns.verify(message, _certs(signer).key)
    sns.verify(message, _certs(signer).key, frozenset({TOPIC}))


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
def test_sns_confirmations_sign_their_own_keys(signer, kind):
    message = signer.confirmation(kind)
    sns.verify(message, _certs(signer).key)
    tampered = dict(message, SubscribeURL="https://attacker.example/confirm")
    assert "does not match" in refused(403, sns.verify, tampered, _certs(signer).key)


def test_sns_subject_is_signed_when_present(signer):
    message = signer.notification("hello", Subject="Amazon SES Email Event Notification")
    sns.verify(message, _certs(signer).key)
    refused(403, sns.verify, dict(message, Subject="Other"), _certs(signer).key)
    # Leaving the Subject out changes the signed string too.
    refused(
        403, sns.verify, {k: v for k, v in message.items() if k != "Subject"}, _certs(signer).key
    )


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "TopicArn"])
def test_sns_tampered_fields_are_refused(signer, field):
    message = signer.notification({"notificationType": "Bounce"})
    refused(403, sns.verify, dict(message, **{field: message[field] + "x"}), _certs(signer).key)


def test_sns_version_mismatch_and_unknown_version(signer):
    message = signer.notification("x", version="1")
    refused(403, sns.verify, dict(message, SignatureVersion="2"), _certs(signer).key)
    assert "not supported" in refused(
        403, sns.verify, dict(message, SignatureVersion="3"), _certs(signer).key
    )


def test_sns_other_key_is_refused(signer):
    other = Sns()
    message = other.notification("x")  # signed by another key, our certificate served
    refused(403, sns.verify, message, _certs(signer).key)


def test_sns_bad_signature_encodings(signer):
    message = signer.notification("x")
    for bad in ("", "not base64!", None, base64.b64encode(b"short").decode()):
        refused(403, sns.verify, dict(message, Signature=bad), _certs(signer).key)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem",
        "https://attacker.example/sns.eu-west-1.amazonaws.com/cert.pem",
        "https://s3.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/cert.pem",
        "https://user@sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com/cert.txt",
        "https://xsns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu_west.amazonaws.com/cert.pem",
        "",
        None,
    ],
)
def test_sns_certificate_must_come_from_an_sns_host(signer, url):
    message = signer.sign(
        {
            "Type": "Notification",
            "MessageId": "m",
            "TopicArn": TOPIC,
            "Message": "x",
            "Timestamp": "t",
            "SigningCertURL": url,
        }
    )
    fetched = len(signer.fetched)
    refused(403, sns.verify, message, _certs(signer).key)
    assert len(signer.fetched) == fetched  # nothing fetched from such a URL


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
    ],
)
def test_sns_hosts_accepted(url):
    assert sns.check_certificate_url(url) == url


def test_sns_topic_allow_list(signer):
    message = signer.notification("x")
    assert "not one this endpoint accepts" in refused(
        403, sns.verify, message, _certs(signer).key, frozenset({"arn:aws:sns:other"})
    )


def test_sns_certificate_fetched_once_and_expired_refused(signer):
    certs = _certs(signer)
    before = len(signer.fetched)
    for _ in range(3):
        sns.verify(signer.notification("x"), certs.key)
    assert len(signer.fetched) == before + 1

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old = certificate(key, days=-1, start=-10)
    expired = sns.Certificates(lambda url: old, time.time)
    assert "not valid" in refused(403, expired.key, CERT_URL)
    broken = sns.Certificates(lambda url: b"not a certificate", time.time)
    refused(403, broken.key, CERT_URL)

    def away(url: str) -> bytes:
        raise OSError("network down")

    refused(503, sns.Certificates(away, time.time).key, CERT_URL)


def test_sns_missing_fields_and_types(signer):
    message = signer.notification("x")
    refused(400, sns.canonical, {k: v for k, v in message.items() if k != "MessageId"})
    refused(400, sns.canonical, dict(message, Type="Other"))
    refused(400, sns.check_type_header, message, "SubscriptionConfirmation")
    sns.check_type_header(message, "Notification")
    sns.check_type_header(message, None)


# --- SendGrid ----------------------------------------------------------------------------

BODY = json.dumps([{"event": "bounce", "sg_event_id": "e1"}]).encode()


def _sendgrid_verify(key, body, headers, now=None):
    sendgrid.verify(
        key,
        body,
        headers.get(sendgrid.SIGNATURE_HEADER),
        headers.get(sendgrid.TIMESTAMP_HEADER),
        now=time.time() if now is None else now,
        max_age=300,
    )


def test_sendgrid_valid_tampered_wrong_key():
    sg = SendGrid()
    key = WebhookConfig.from_env({ENV_SENDGRID_PUBLIC_KEY: sg.public_b64}).sendgrid_public_key
    headers = sg.headers(BODY)
    _sendgrid_verify(key, BODY, headers)
    refused(403, _sendgrid_verify, key, BODY + b" ", headers)
    refused(403, _sendgrid_verify, key, BODY.replace(b"e1", b"e2"), headers)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    refused(403, _sendgrid_verify, other, BODY, headers)
    # The timestamp is signed too: another one with the same signature is refused.
    shifted = dict(headers)
    shifted[sendgrid.TIMESTAMP_HEADER] = str(int(headers[sendgrid.TIMESTAMP_HEADER]) - 1)
    refused(403, _sendgrid_verify, key, BODY, shifted)


def test_sendgrid_timestamp_window_and_missing_headers():
    sg = SendGrid()
    key = sg.key.public_key()
    now = time.time()
    stale = sg.headers(BODY, timestamp=int(now) - 301)
    assert "more than 300 s" in refused(401, _sendgrid_verify, key, BODY, stale, now)
    future = sg.headers(BODY, timestamp=int(now) + 301)
    refused(401, _sendgrid_verify, key, BODY, future, now)
    _sendgrid_verify(key, BODY, sg.headers(BODY, timestamp=int(now) - 299), now)
    refused(401, _sendgrid_verify, key, BODY, {})
    headers = sg.headers(BODY)
    refused(401, _sendgrid_verify, key, BODY, dict(headers, **{sendgrid.TIMESTAMP_HEADER: "x"}))
    refused(403, _sendgrid_verify, key, BODY, dict(headers, **{sendgrid.SIGNATURE_HEADER: "!!"}))


def test_sendgrid_key_from_env_is_checked():
    with pytest.raises(InvalidInput) as info:
        WebhookConfig.from_env({ENV_SENDGRID_PUBLIC_KEY: "bm90IGEga2V5"})
    assert ENV_SENDGRID_PUBLIC_KEY in str(info.value) and "bm90" not in str(info.value)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = rsa_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidInput, match="another kind of key"):
        WebhookConfig.from_env({ENV_SENDGRID_PUBLIC_KEY: base64.b64encode(der).decode()})


# --- Mailgun -----------------------------------------------------------------------------


def _mailgun_verify(key, signature, tokens, now=None):
    return mailgun.verify(
        key, signature, now=time.time() if now is None else now, max_age=300, tokens=tokens
    )


def test_mailgun_valid_tampered_wrong_key():
    mg = Mailgun()
    tokens = mailgun.TokenCache()
    signature = mg.signature()
    assert _mailgun_verify(mg.key, signature, tokens) == signature["token"]
    refused(403, _mailgun_verify, b"other key", mg.signature(), tokens)
    tampered = dict(mg.signature(), token="x" * 50)
    refused(403, _mailgun_verify, mg.key, tampered, tokens)
    shifted = mg.signature()
    shifted["timestamp"] = str(int(shifted["timestamp"]) + 1)
    refused(403, _mailgun_verify, mg.key, shifted, tokens)
    for broken in (None, {}, {"timestamp": "1", "token": "t"}, "text"):
        refused(401, _mailgun_verify, mg.key, broken, tokens)


def test_mailgun_replayed_token_and_stale_timestamp():
    mg = Mailgun()
    tokens = mailgun.TokenCache()
    now = time.time()
    signature = mg.signature(timestamp=int(now))
    _mailgun_verify(mg.key, signature, tokens, now)
    assert "already used" in refused(401, _mailgun_verify, mg.key, signature, tokens, now + 1)
    tokens.release(signature["token"])  # a request that was not recorded gives it back
    _mailgun_verify(mg.key, signature, tokens, now + 2)
    stale = mg.signature(timestamp=int(now) - 301)
    assert "more than 300 s" in refused(401, _mailgun_verify, mg.key, stale, tokens, now)


def test_mailgun_token_cache_expires_and_is_bounded():
    tokens = mailgun.TokenCache(max_tokens=3)
    assert tokens.claim("a", now=0, expires=10)
    assert not tokens.claim("a", now=5, expires=15)
    assert tokens.claim("a", now=11, expires=20)  # expired: taken afresh
    for name in "bcde":
        assert tokens.claim(name, now=12, expires=30)
    assert len(tokens) == 3  # the oldest went first


# --- Postmark ----------------------------------------------------------------------------


def test_postmark_basic_auth():
    config = WebhookConfig.from_env({ENV_POSTMARK_AUTH: "hook:s3cret:with:colons"})
    expected = config.postmark_auth
    assert expected is not None
    postmark.verify(expected, basic("hook", "s3cret:with:colons")["Authorization"])
    for header in (
        None,
        "",
        "Basic",
        "Bearer abc",
        "Basic !!!",
        basic("hook", "wrong")["Authorization"],
        basic("other", "s3cret:with:colons")["Authorization"],
    ):
        refused(401, postmark.verify, expected, header)


def test_config_from_env_and_secrets_not_in_repr():
    sg = SendGrid()
    config = WebhookConfig.from_env(
        {
            ENV_SENDGRID_PUBLIC_KEY: sg.public_b64,
            ENV_MAILGUN_SIGNING_KEY: "mailgun-secret-key",
            ENV_POSTMARK_AUTH: "user:postmark-secret",
            "CAMPAIGN_CONSOLE_SES_TOPIC_ARNS": f" {TOPIC} , ",
        }
    )
    assert config.configured == {"ses": True, "sendgrid": True, "mailgun": True, "postmark": True}
    assert config.ses_topic_arns == frozenset({TOPIC})
    shown = repr(config)
    assert "mailgun-secret-key" not in shown and "postmark-secret" not in shown
    empty = WebhookConfig.from_env({})
    assert empty.configured == {"ses": True, "sendgrid": False, "mailgun": False, "postmark": False}
    assert empty.ses_topic_arns is None
    with pytest.raises(InvalidInput, match=ENV_POSTMARK_AUTH):
        WebhookConfig.from_env({ENV_POSTMARK_AUTH: "no-colon-secret"})


# --- SNS subscription confirmation --------------------------------------------------------


async def test_sns_subscription_is_confirmed_only_by_an_injected_callable(signer):
    message = signer.confirmation()
    logged_only = Webhooks(None, WebhookConfig(fetch_certificate=signer.fetch))
    assert "logged" in (await logged_only._confirmation(message)).note

    opened: list[str] = []
    confirming = WebhookConfig(fetch_certificate=signer.fetch, confirm_subscription=opened.append)
    parsed = await Webhooks(None, confirming)._confirmation(message)
    assert parsed.note == "subscription confirmed" and opened == [message["SubscribeURL"]]

    def fails(url: str) -> None:
        raise OSError("no route")

    failing = Webhooks(None, WebhookConfig(confirm_subscription=fails))
    with pytest.raises(Refusal) as info:
        await failing._confirmation(message)
    assert info.value.status == 503
