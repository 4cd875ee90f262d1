"""A real OpenLDAP slapd on 127.0.0.1, configured from ``deploy/slapd/slapd.conf.template``.

``slapd`` (session) holds the demo company's directory (the last demo day) plus a read-only
service account; ``start_slapd`` starts a private server for tests that kill it or need other
entries. Entries are loaded with ``ldapadd`` (slapadd would bypass the memberof overlay).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from collectors.ldap_live import LdapSettings
from opsledger.demo.model import BASE_DN

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "slapd" / "slapd.conf.template"
ROOT_DN = f"cn=admin,{BASE_DN}"
ROOT_PASSWORD = "root-Pw-for-tests-7731"
READER_DN = f"cn=opsledger-reader,{BASE_DN}"
READER_PASSWORD = "reader-Pw-for-tests-4410"
PASSWORD_ENV = "OPSLEDGER_TEST_LDAP_PASSWORD"
READER_LDIF = f"""dn: {READER_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: opsledger-reader
userPassword: {READER_PASSWORD}
"""
AD_SCHEMA = "/etc/ldap/schema/msuser.schema"

pytestmark = pytest.mark.skipif(shutil.which("ldapadd") is None, reason="ldap-utils not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Slapd:
    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.folder / "slapd.log").open("ab")
        self.process = subprocess.Popen(
            ["/usr/sbin/slapd", "-f", str(self.folder / "slapd.conf"), "-h", f"{self.url}/", "-d", "0"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base"], capture_output=True
            )
            if probe.returncode == 0:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.folder / 'slapd.log').read_text()[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("slapd did not answer within 15 s")

    def load(self, ldif: str | Path) -> None:
        path = Path(ldif) if isinstance(ldif, Path) else self.folder / "load.ldif"
        if not isinstance(ldif, Path):
            path.write_text(ldif, encoding="utf-8")
        loaded = subprocess.run(
            ["ldapadd", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD, "-f", str(path)],
            capture_output=True,
            text=True,
        )
        if loaded.returncode:
            raise RuntimeError(f"ldapadd failed ({loaded.returncode}): {loaded.stderr.strip()}")

    def kill(self) -> None:
        """Die like a crashed server: SIGKILL, no clean shutdown."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def settings(self, **overrides) -> LdapSettings:
        values = dict(
            name="corp",
            url=self.url,
            base_dn=BASE_DN,
            bind_dn=READER_DN,
            password_env=PASSWORD_ENV,
            page_size=7,
            retries=2,
            backoff_seconds=0.01,
            connect_timeout=2,
            receive_timeout=5,
        )
        return LdapSettings(**(values | overrides))


def _make(folder: Path, *, active_directory_schema: bool = False) -> Slapd:
    for sub in ("run", "db", "accesslog"):
        (folder / sub).mkdir(parents=True)
    conf = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        run_dir=folder / "run",
        db_dir=folder / "db",
        accesslog_dir=folder / "accesslog",
        suffix=BASE_DN,
        rootdn=ROOT_DN,
        rootpw=ROOT_PASSWORD,
    )
    if active_directory_schema:
        conf = conf.replace(
            "include  /etc/ldap/schema/nis.schema",
            f"include  /etc/ldap/schema/nis.schema\ninclude  {AD_SCHEMA}",
        )
    (folder / "slapd.conf").write_text(conf, encoding="utf-8")
    server = Slapd(folder, free_port())
    server.start()
    return server


@pytest.fixture(autouse=True)
def _reader_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, READER_PASSWORD)


@pytest.fixture(scope="session")
def demo_ldif(demo_config) -> Path:
    return sorted((demo_config.demo_dir / "directory").glob("*.ldif"))[-1]


@pytest.fixture(scope="session")
def slapd(tmp_path_factory, demo_ldif):
    server = _make(tmp_path_factory.mktemp("slapd"))
    try:
        server.load(demo_ldif)
        server.load(READER_LDIF)
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_slapd(tmp_path):
    started: list[Slapd] = []

    def start(*ldifs: str | Path, active_directory_schema: bool = False) -> Slapd:
        server = _make(tmp_path / f"slapd{len(started)}", active_directory_schema=active_directory_schema)
        started.append(server)
        for ldif in ldifs:
            server.load(ldif)
        server.load(READER_LDIF)
        return server

    yield start
    for server in started:
        server.stop()
