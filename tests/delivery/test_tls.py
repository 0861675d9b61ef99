"""TLS to the relay: smtps:// (TLS from the first byte) and STARTTLS, offered or required
(?starttls=require), the relay's certificate checked against ?cafile= (a self-signed one made
here); a relay that offers no STARTTLS when it is required gets no message."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.delivery.data import recipients, running_campaign, send
from tests.delivery.relay import Behaviour, LoopbackRelay


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "relay.pem", folder / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def _relay(**kwargs) -> LoopbackRelay:
    relay = LoopbackRelay(Behaviour())
    relay.controller = Controller(
        relay.behaviour, hostname="127.0.0.1", port=relay.port, ready_timeout=10, **kwargs
    )
    relay.controller.start()
    return relay


@pytest.mark.parametrize("mode", ["smtps", "starttls-offered", "starttls-required"])
def test_tls_modes_deliver(db, certificate, mode):
    cafile = certificate[0]
    if mode == "smtps":
        relay = _relay(ssl_context=_context(certificate))
        url = f"smtps://127.0.0.1:{relay.port}?cafile={cafile}"
    else:
        relay = _relay(tls_context=_context(certificate), require_starttls=True)
        query = "&starttls=require" if mode == "starttls-required" else ""
        url = f"smtp://127.0.0.1:{relay.port}?cafile={cafile}{query}"
    pk, _ids = running_campaign(db, f"camp_{mode.replace('-', '_')}", ["t1@x.test", "t2@x.test"])
    send(db, url)
    relay.stop()
    assert {row[0] for row in recipients(db, pk).values()} == {"sent"}
    assert len(relay.behaviour.received) == 2


def test_starttls_required_but_not_offered_sends_nothing(db, certificate):
    relay = LoopbackRelay().start()  # no TLS at all
    pk, _ids = running_campaign(db, "camp_no_tls", ["t1@x.test"])
    send(db, f"smtp://127.0.0.1:{relay.port}?starttls=require", max_attempts=2)
    relay.stop()
    status, error, attempts, _, _ = recipients(db, pk)["t1@x.test"]
    assert (status, attempts) == ("failed", 2) and "STARTTLS" in error.upper()
    assert relay.behaviour.received == []


def test_a_certificate_not_trusted_sends_nothing(db, certificate):
    relay = _relay(ssl_context=_context(certificate))
    pk, _ids = running_campaign(db, "camp_untrusted", ["t1@x.test"])
    send(db, f"smtps://127.0.0.1:{relay.port}", max_attempts=1)  # no cafile: not trusted
    relay.stop()
    status, error, *_ = recipients(db, pk)["t1@x.test"]
    assert status == "failed" and "CERTIFICATE" in error.upper()
    assert relay.behaviour.received == []
