"""A real OpenLDAP slapd on 127.0.0.1, configured from ``deploy/slapd/slapd.conf.template``.

``slapd`` (session) holds the demo company's directory (the last demo day) plus a read-only
service account; ``start_slapd`` starts a private server for tests that kill it or need other
entries. Entries are loaded with ``ldapadd`` (slapadd would bypass the memberof overlay).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from collectors.ldap_live import LdapSettings
from deploy.live.servers import Slapd, free_port
from opsledger.demo.model import BASE_DN

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


@dataclass
class DirectoryServer(Slapd):
    """slapd holding the test directory, with collector settings that bind as the reader."""

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


def _make(folder: Path, *, active_directory_schema: bool = False) -> DirectoryServer:
    server = DirectoryServer(
        free_port(),
        folder,
        suffix=BASE_DN,
        root_dn=ROOT_DN,
        root_password=ROOT_PASSWORD,
        extra_schemas=(AD_SCHEMA,) if active_directory_schema else (),
    )
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
    started: list[DirectoryServer] = []

    def start(*ldifs: str | Path, active_directory_schema: bool = False) -> DirectoryServer:
        server = _make(tmp_path / f"slapd{len(started)}", active_directory_schema=active_directory_schema)
        started.append(server)
        for ldif in ldifs:
            server.load(ldif)
        server.load(READER_LDIF)
        return server

    yield start
    for server in started:
        server.stop()
