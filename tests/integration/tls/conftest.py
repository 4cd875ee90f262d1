"""TLS servers for the collectors: a throwaway CA, and Prometheus and slapd using its certificate.

The CA and the server certificate (for 127.0.0.1 and localhost) are made with ``cryptography`` in a
temp folder; nothing trusts the CA unless a test names it as ``ca_file``. Prometheus serves HTTPS
through ``--web.config.file`` (``tls_server_config``) over two hours of a small OpenMetrics history;
slapd offers StartTLS on its ldap:// port and TLS from the start on an ldaps:// port.
"""

from __future__ import annotations

import ipaddress
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy.live.servers import Prometheus, Slapd, TlsFiles, backfill, free_port

BASE_DN = "dc=tls,dc=example"
READER_DN = f"cn=reader,{BASE_DN}"
READER_PASSWORD = "reader-Pw-tls-test-3390"
PASSWORD_ENV = "OPSLEDGER_TEST_TLS_PASSWORD"
HISTORY_START = datetime(2026, 10, 1, tzinfo=UTC)
HISTORY_POINTS = 120  # one sample a minute for two hours, per series
FAMILIES = {
    "tls_requests": ("counter", ('tls_requests_total{code="200"}', 'tls_requests_total{code="500"}')),
    "tls_up": ("gauge", ("tls_up",)),
}
SERIES = sum(len(series) for _, series in FAMILIES.values())
USERS = ("ada", "grace", "linus")

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("prometheus", "promtool", "ldapadd")),
    reason="needs the Debian packages prometheus, slapd and ldap-utils",
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("opsledger throwaway test CA"))
        .issuer_name(_name("opsledger throwaway test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(_pem_key(key))
    files.key_file.chmod(0o600)
    return files


@pytest.fixture(scope="session")
def tls_prometheus(pki, tmp_path_factory):
    """Prometheus on HTTPS over ``SERIES`` series × ``HISTORY_POINTS`` samples from ``HISTORY_START``."""
    folder = tmp_path_factory.mktemp("tls-prometheus")
    start = HISTORY_START.timestamp()
    lines = []
    for family, (kind, series) in FAMILIES.items():
        lines.append(f"# TYPE {family} {kind}")
        for one in series:
            lines += [f"{one} {k + 1} {start + 60 * k:.0f}" for k in range(HISTORY_POINTS)]
    (folder / "history.om").write_text("\n".join(lines) + "\n# EOF\n", encoding="utf-8")
    data = backfill([folder / "history.om"], folder / "data")
    web = folder / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n")
    server = Prometheus(free_port(), folder, data_dir=data, web_config=web).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_slapd(pki, tmp_path_factory):
    """slapd with StartTLS on ``url`` and TLS on ``ldaps_url``, holding ``USERS`` and one group."""
    server = Slapd(
        free_port(),
        tmp_path_factory.mktemp("tls-slapd"),
        suffix=BASE_DN,
        root_dn=f"cn=admin,{BASE_DN}",
        root_password="root-Pw-tls-test-1187",
        tls=pki,
        ldaps_port=free_port(),
    ).start()
    people = "".join(
        f"\ndn: uid={u},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\nuid: {u}\ncn: {u}\nsn: {u}\n"
        f"mail: {u}@tls.example\n"
        for u in USERS
    )
    members = "".join(f"member: uid={u},ou=people,{BASE_DN}\n" for u in USERS)
    server.load(
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: tls\no: TLS test\n\n"
        f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n\n"
        f"dn: ou=groups,{BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n"
        f"{people}\n"
        f"dn: cn=staff,ou=groups,{BASE_DN}\nobjectClass: groupOfNames\ncn: staff\n{members}\n"
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {READER_PASSWORD}\n"
    )
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reader_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, READER_PASSWORD)


@pytest.fixture
def home_env(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("OPSLEDGER_HOME", str(home))
    monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
    return home
