"""The local servers of the live stack: Prometheus, OpenLDAP slapd and noida-db, on 127.0.0.1.

Shared by ``deploy/live-stack.sh`` (through ``deploy/live/stack.py``), the TLS tests and the
collection benchmark. Each server runs in its own session, so a Ctrl-C in the starting shell does
not reach it; it is stopped by its PID (SIGTERM, then SIGKILL after a grace period).

Recipes (see ``/work/shared/reference/machine-notes.md``): Prometheus serves TSDB blocks made by
``promtool tsdb create-blocks-from openmetrics`` with a long retention (or it deletes the backfilled
blocks as too old); slapd runs from our own ``slapd.conf`` with ``-f`` and is loaded with
``ldapadd`` (``slapadd`` bypasses the memberof and accesslog overlays); noida-db's binary is
started directly, not through its Python wrapper, so the PID we stop is the server's.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from string import Template

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
SLAPD_TEMPLATE = REPO / "deploy" / "slapd" / "slapd.conf.template"
NOIDA_BINARY = Path(str(files("noida_db").joinpath("noida-db")))


def ssha(password: str) -> str:
    """An OpenLDAP ``{SSHA}`` hash (salted SHA-1, RFC 2307 style), so no config or LDIF file we
    write holds a password in clear."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A server process we started; ``start`` waits until ``ready()`` answers."""

    name = "server"
    port: int
    folder: Path
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}-{self.port}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout_s: float = 20.0):
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.folder,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self._log_tail()}")
            if self.ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"{self.name} on port {self.port} not ready within {timeout_s:g} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return " | ".join(text.strip().splitlines()[-5:]) or f"see {self.log_path}"

    def kill(self) -> None:
        """Die like a crashed server: SIGKILL, no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1, context=context) as answer:
            return answer.status == 200
    except OSError:
        return False


def _unverified() -> ssl.SSLContext:
    # Only the readiness probe skips verification: it asks "is it up", the collectors verify.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class Prometheus(Server):
    """Debian's Prometheus over ``data_dir``; with ``web_config`` (a ``tls_server_config``) it
    serves HTTPS."""

    name = "prometheus"
    data_dir: Path = Path()
    web_config: Path | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.web_config else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [
            "prometheus",
            f"--config.file={PROMETHEUS_CONFIG}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--storage.tsdb.path={self.data_dir}",
            "--storage.tsdb.retention.time=100y",
        ]
        return args + ([f"--web.config.file={self.web_config}"] if self.web_config else [])

    def ready(self) -> bool:
        return _http_ok(f"{self.url}/-/ready", _unverified() if self.web_config else None)


def backfill(openmetrics_files: Iterable[Path], blocks_dir: Path) -> Path:
    """TSDB blocks from OpenMetrics files (timestamps in seconds, each ending with ``# EOF``)."""
    blocks_dir.mkdir(parents=True, exist_ok=True)
    for path in openmetrics_files:
        made = subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(path), str(blocks_dir)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if made.returncode:
            raise RuntimeError(f"promtool failed on {path}: {made.stderr.strip()[-500:]}")
    return blocks_dir


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass
class Slapd(Server):
    """slapd from ``deploy/slapd/slapd.conf.template``; with ``tls`` it also offers StartTLS on
    ``url`` and listens for ldaps on ``ldaps_port``."""

    name = "slapd"
    suffix: str = ""
    root_dn: str = ""
    root_password: str = ""
    tls: TlsFiles | None = None
    ldaps_port: int | None = None
    extra_schemas: tuple[str, ...] = ()
    nosync: bool = False  # no fsync per write: bulk loads for benchmarks, never for data kept

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def configure(self) -> Path:
        for sub in ("run", "db", "accesslog"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        conf = Template(SLAPD_TEMPLATE.read_text(encoding="utf-8")).substitute(
            run_dir=self.folder / "run",
            db_dir=self.folder / "db",
            accesslog_dir=self.folder / "accesslog",
            suffix=self.suffix,
            rootdn=self.root_dn,
            rootpw=ssha(self.root_password),
        )
        if self.extra_schemas:
            # With the template's schemas, before its modules: a module that brings its own
            # attribute (memberof's memberOf) makes a later schema defining it a duplicate, and
            # msuser.schema (Active Directory) defines memberOf.
            last_include = conf.rindex("\ninclude ")
            after = conf.index("\n", last_include + 1) + 1
            schemas = "".join(f"include  {schema}\n" for schema in self.extra_schemas)
            conf = conf[:after] + schemas + conf[after:]
        if self.tls is not None:
            # TLS directives are global: they must come before the first database section.
            tls = (
                f"TLSCACertificateFile {self.tls.ca_file}\n"
                f"TLSCertificateFile {self.tls.cert_file}\n"
                f"TLSCertificateKeyFile {self.tls.key_file}\n"
            )
            conf = conf.replace("\ndatabase ", f"\n{tls}\ndatabase ", 1)
        if self.nosync:
            conf = conf.replace("\ndirectory ", "\ndbnosync\ndirectory ")
        path = self.folder / "slapd.conf"
        path.write_text(conf, encoding="utf-8")
        return path

    def command(self) -> list[str]:
        listen = f"{self.url}/" + (f" {self.ldaps_url}/" if self.tls and self.ldaps_port else "")
        return ["/usr/sbin/slapd", "-f", str(self.configure()), "-h", listen, "-d", "0"]

    def ready(self) -> bool:
        probe = subprocess.run(
            ["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base"], capture_output=True
        )
        return probe.returncode == 0

    def load(self, ldif: Path | str) -> None:
        """Add entries (a file, or LDIF text) as the root DN, through the overlays."""
        # -y reads the password from a file, so it never shows in the process list; that file and
        # LDIF text (which may carry userPassword) live only while ldapadd runs.
        secret = self.folder / "run" / "root.secret"
        text = None if isinstance(ldif, Path) else self.folder / "run" / "load.ldif"
        path = text or ldif
        for name, content in ((secret, self.root_password), (text, ldif)):
            if name is not None:
                name.touch(mode=0o600)
                name.write_text(content, encoding="utf-8")
        try:
            loaded = subprocess.run(
                ["ldapadd", "-x", "-H", self.url, "-D", self.root_dn, "-y", str(secret), "-f", str(path)],
                capture_output=True,
                text=True,
            )
        finally:
            secret.unlink()
            if text is not None:
                text.unlink()
        if loaded.returncode:
            raise RuntimeError(
                f"ldapadd of {path.name} failed ({loaded.returncode}): {loaded.stderr.strip()}"
            )


@dataclass
class SearchServer(Server):
    """noida-db: an Elasticsearch-API-compatible server (no real Elasticsearch runs here)."""

    name = "noida-db"
    data_dir: Path = Path()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(NOIDA_BINARY), "start", "--data-dir", str(self.data_dir), "--host", "127.0.0.1"] + [
            "--only",
            "elasticsearch",
            "--elasticsearch-port",
            str(self.port),
        ]

    def ready(self) -> bool:
        return _http_ok(self.url)
