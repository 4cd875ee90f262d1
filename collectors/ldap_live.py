"""A live LDAP directory (OpenLDAP, Active Directory) → users, groups and memberships.

``snapshot(settings, snapshot_at=...)`` reads every user and group under the base DN with one
paged search (RFC 2696) and classifies the entries exactly as ``collectors.ldif`` classifies an
LDIF export of the same directory (same object classes, ``enabled`` rules, DN normalization,
``attributes`` JSON, memberships from member/uniqueMember/memberUid/memberOf), so a live
snapshot and a file snapshot of one directory give the same rows. The operational attributes
``*`` does not return are requested by name: ``pwdAccountLockedTime`` (OpenLDAP ppolicy lock),
``memberOf`` (memberof overlay, AD) and ``nsAccountLock`` (389-DS).

Active Directory (``flavor="active_directory"``, or detected from the root DSE's
``supportedCapabilities``): default filters by ``objectCategory``/``objectClass=user|group``,
``sAMAccountName`` is the uid, ``userAccountControl`` bit 0x2 disables, large ``member``
attributes are fetched whole by ldap3's range retrieval (``auto_range``), and **nested groups
are resolved transitively**: a member of a group that is itself a member of G is a member of
G too, so ``directory_memberships`` holds each direct pair plus every pair implied by nesting
(including group-in-group pairs; join ``directory_groups`` to tell groups from users). Nesting
is resolved client-side after the whole snapshot is read, so it works on any server;
``memberUid`` (posixGroup) is not nested.

Reliability: connecting, StartTLS and bind are retried with exponential backoff and jitter on
connection errors, timeouts and busy/unavailable answers; after the last retry one
``LdapError`` names the source, the URL (never credentials) and the operation. A connection
lost during paging is not retried: paged-results cookies belong to the connection, so the
snapshot fails and the caller's batch stores nothing. The bind password is read from the
environment variable the settings name, only when connecting, and is scrubbed from any error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as lx
from ldap3.utils.conv import escape_filter_chars
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collectors.base import Chunk, Reject
from collectors.ldif import GROUP_CLASSES, Snapshot
from collectors.ldif_records import Entry, binary_value, normalize_dn
from collectors.live_http import backoff_delay, tls_failure
from opsledger.errors import OpsledgerError

__all__ = ["LdapError", "LdapSettings", "snapshot"]

log = logging.getLogger(__name__)

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
AD_CAPABILITY_OID = "1.2.840.113556.1.4.800"  # LDAP_CAP_ACTIVE_DIRECTORY_OID
OPERATIONAL_ATTRIBUTES = ("pwdAccountLockedTime", "memberOf", "nsAccountLock")
# Transient: worth another attempt. Anything else (bad credentials, bad filter) fails at once.
RETRYABLE = (
    lx.LDAPCommunicationError,
    lx.LDAPResponseTimeoutError,
    lx.LDAPBusyResult,
    lx.LDAPUnavailableResult,
    lx.LDAPTimeLimitExceededResult,
)
OPENLDAP_FILTERS = (
    "(|(objectClass=inetOrgPerson)(objectClass=organizationalPerson)(objectClass=person)"
    "(objectClass=posixAccount))",
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
)
AD_FILTERS = ("(&(objectCategory=person)(objectClass=user))", "(objectClass=group)")
_RANGE_OPTION = re.compile(r";range=\d+-(?:\d+|\*)$", re.IGNORECASE)

PageHook = Callable[[int], None]


class LdapSettings(BaseModel):
    """Where and how to read one directory. Holds the *name* of the password variable, never the
    password: it is read from the environment only when connecting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    url: str  # ldap://host[:389] or ldaps://host[:636]
    base_dn: str
    bind_dn: str | None = None  # None: anonymous bind
    password_env: str | None = None
    start_tls: bool = False
    tls_verify: bool = True
    ca_file: str | None = None
    flavor: Literal["auto", "openldap", "active_directory"] = "auto"
    user_filter: str | None = None  # default per flavor, see `filters`
    group_filter: str | None = None
    group_names: tuple[str, ...] = ()  # only these groups (by cn); empty: every group
    page_size: int = Field(default=500, ge=1, le=10_000)
    connect_timeout: float = Field(default=10.0, gt=0)
    # Whole seconds: ldap3 packs it into SO_RCVTIMEO with struct 'LL', which rejects floats.
    receive_timeout: int = Field(default=60, gt=0)
    retries: int = Field(default=4, ge=0)
    backoff_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=30.0, ge=0)

    @field_validator("url")
    @classmethod
    def _ldap_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise ValueError("expected ldap://host[:port] or ldaps://host[:port]")
        if parts.username or parts.password:
            raise ValueError("credentials do not belong in the URL: use bind_dn and password_env")
        return url

    @model_validator(mode="after")
    def _consistent(self) -> LdapSettings:
        if self.start_tls and self.scheme == "ldaps":
            raise ValueError("start_tls is for ldap:// URLs; ldaps:// is TLS from the start")
        if self.bind_dn and not self.password_env:
            raise ValueError("bind_dn needs password_env (the environment variable holding the password)")
        return self

    @property
    def source(self) -> str:
        return f"ldap:{self.name}"

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (636 if self.scheme == "ldaps" else 389)

    @property
    def safe_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def filters(self, active_directory: bool) -> tuple[str, str]:
        users, groups = AD_FILTERS if active_directory else OPENLDAP_FILTERS
        return self.user_filter or users, self.group_filter or groups


class LdapError(OpsledgerError):
    """The directory could not be read: names the source, the URL and the operation."""


def snapshot(
    settings: LdapSettings,
    *,
    snapshot_at: datetime,
    chunk_rows: int = 50_000,
    on_page: PageHook | None = None,
) -> Iterator[Chunk]:
    """Every user and group of the directory as contract chunks; memberships come last.

    ``on_page(n)`` is called after page ``n`` of the search has been read (progress, tests)."""
    at = snapshot_at.replace(tzinfo=UTC) if snapshot_at.tzinfo is None else snapshot_at.astimezone(UTC)
    password = _password(settings)
    conn = _with_retries(settings, password, "connect and bind", lambda: _connect(settings, password))
    try:
        active_directory = _is_active_directory(settings, conn)
        state = _LiveSnapshot(
            settings.source,
            at,
            chunk_rows,
            nested=active_directory,
            only_read_groups=bool(settings.group_names),
        )
        number = 0
        for page in _pages(settings, password, conn, _search_filter(settings, active_directory), on_page):
            for response in page:
                number += 1
                chunk = state.add(_entry(number, response))
                if chunk is not None:
                    yield chunk
        log.info(
            "%s: read %d entries under %s from %s",
            settings.source,
            number,
            settings.base_dn,
            settings.safe_url,
        )
        yield from state.finish()
    finally:
        with contextlib.suppress(lx.LDAPException):  # the server may be gone already
            conn.unbind()


def _password(settings: LdapSettings) -> str | None:
    if settings.bind_dn is None:
        return None
    value = os.environ.get(settings.password_env or "")
    if not value:
        raise LdapError(f"{settings.source}: the bind password variable {settings.password_env!r} is not set")
    return value


def _connect(settings: LdapSettings, password: str | None) -> ldap3.Connection:
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED if settings.tls_verify else ssl.CERT_NONE,
        ca_certs_file=settings.ca_file,
    )
    server = ldap3.Server(
        settings.host,
        port=settings.port,
        use_ssl=settings.scheme == "ldaps",
        tls=tls,
        connect_timeout=settings.connect_timeout,
        get_info=ldap3.DSA if settings.flavor == "auto" else ldap3.NONE,
    )
    conn = ldap3.Connection(
        server,
        user=settings.bind_dn,
        password=password,
        authentication=ldap3.SIMPLE if settings.bind_dn else ldap3.ANONYMOUS,
        receive_timeout=settings.receive_timeout,
        raise_exceptions=True,
        read_only=True,
        auto_referrals=False,
        auto_range=True,
    )
    try:
        conn.open()
        if settings.start_tls:
            conn.start_tls()
        conn.bind()
    except Exception:
        # After a failed StartTLS the socket is unusable: unbind's own error would hide the cause.
        with contextlib.suppress(lx.LDAPException, OSError):
            conn.unbind()
        raise
    return conn


def _with_retries(settings: LdapSettings, password: str | None, operation: str, call):
    for attempt in range(settings.retries + 1):
        try:
            return call()
        except ssl.SSLCertVerificationError as exc:
            # ldap3 raises its own exceptions mixed with ssl's; an untrusted certificate is not
            # transient, so it is reported at once rather than retried.
            raise LdapError(
                f"{settings.source}: {operation} at {settings.safe_url} failed: TLS verification failed "
                f"({tls_failure(exc)}); set ca_file (or tls_verify false, for testing only)"
            ) from None
        except RETRYABLE as exc:
            if attempt == settings.retries:
                raise _error(settings, password, operation, exc, f"after {attempt + 1} attempts") from None
            delay = backoff_delay(attempt, settings.backoff_seconds, settings.backoff_max_seconds)
            log.warning(
                "%s: %s at %s failed (%s); retry %d of %d in %.2fs",
                settings.source, operation, settings.safe_url, type(exc).__name__,
                attempt + 1, settings.retries, delay,
            )  # fmt: skip
            time.sleep(delay)
        except lx.LDAPInvalidCredentialsResult:
            raise LdapError(
                f"{settings.source}: {operation} at {settings.safe_url} failed: invalid credentials "
                f"(check the bind DN and the password in ${settings.password_env})"
            ) from None
        except lx.LDAPException as exc:
            raise _error(settings, password, operation, exc) from None


def _error(settings, password, operation: str, exc: Exception, note: str = "") -> LdapError:
    detail = str(exc) or type(exc).__name__
    if password:
        detail = detail.replace(password, "***")
    note = f" {note}" if note else ""
    return LdapError(f"{settings.source}: {operation} at {settings.safe_url} failed{note}: {detail}")


def _is_active_directory(settings: LdapSettings, conn: ldap3.Connection) -> bool:
    if settings.flavor != "auto":
        return settings.flavor == "active_directory"
    other = conn.server.info.other if conn.server.info else {}
    return AD_CAPABILITY_OID in other.get("supportedCapabilities", []) or "forestFunctionality" in other


def _search_filter(settings: LdapSettings, active_directory: bool) -> str:
    users, groups = settings.filters(active_directory)
    if settings.group_names:
        # Names come from users or config: escaped, so "*)(uid=*" is a name, not filter syntax.
        names = "".join(f"(cn={escape_filter_chars(name)})" for name in settings.group_names)
        groups = f"(&{groups}(|{names}))"
    # One search for both kinds, so an entry matching both filters is read (and counted) once.
    return f"(|{users}{groups})"


def _pages(settings, password, conn, search_filter: str, on_page: PageHook | None) -> Iterator[list[dict]]:
    cookie = None
    page = 0
    while True:
        operation = f"paged search of {settings.base_dn} (page {page + 1})"
        try:
            conn.search(
                settings.base_dn,
                search_filter,
                ldap3.SUBTREE,
                attributes=[ldap3.ALL_ATTRIBUTES, *OPERATIONAL_ATTRIBUTES],
                paged_size=settings.page_size,
                paged_cookie=cookie,
            )
        except lx.LDAPException as exc:
            raise _error(settings, password, operation, exc) from None
        page += 1
        yield [r for r in conn.response if r.get("type") == "searchResEntry"]
        if on_page is not None:
            on_page(page)
        controls = conn.result.get("controls") or {}
        cookie = controls.get(PAGED_RESULTS_OID, {}).get("value", {}).get("cookie")
        if not cookie:
            return


def _entry(number: int, response: dict) -> Entry | Reject:
    dn = response["dn"]
    attributes: dict[str, list] = {}
    for name, values in response["raw_attributes"].items():
        if values:
            # AD range retrieval can leave "member;range=0-*" as the name of the merged values.
            key = _RANGE_OPTION.sub("", name).lower()
            attributes.setdefault(key, []).extend(binary_value(bytes(v)) for v in values)
    raw = "\n".join(
        [f"dn: {dn}"]
        + [
            f"{name}: {v if isinstance(v, str) else v['base64']}"
            for name, vs in attributes.items()
            for v in vs
        ]
    )
    position = f"entry {number} ({dn})"
    try:
        normalized = normalize_dn(dn)
    except ValueError as exc:
        return Reject(position, f"field 'dn': {exc}", raw)
    # A search result has no file lines: its problems are reported without one.
    return Entry(position, normalized, attributes, dict.fromkeys(attributes), raw)


class _LiveSnapshot(Snapshot):
    """``collectors.ldif``'s classification, fed by search results instead of a file."""

    def __init__(
        self, source: str, snapshot_at: datetime, chunk_rows: int, *, nested: bool, only_read_groups: bool
    ) -> None:
        super().__init__(source, snapshot_at, chunk_rows)
        self.nested, self.only_read_groups = nested, only_read_groups
        self.group_dns: set[str] = set()

    def _classify(self, entry: Entry) -> None:
        super()._classify(entry)
        classes = {v.lower() for v in entry.attributes.get("objectclass", []) if isinstance(v, str)}
        if classes & GROUP_CLASSES:
            self.group_dns.add(entry.dn.lower())

    def finish(self) -> Iterator[Chunk]:
        if self.accepted or self.rejects:
            yield self._flush()
        if self.only_read_groups:
            # With `group_names` a user's memberOf also names groups outside the snapshot.
            self.member_of = [pair for pair in self.member_of if pair[0].lower() in self.group_dns]
        if self.nested:
            self._resolve_nesting()
        yield from self._membership_chunks()

    def _resolve_nesting(self) -> None:
        for group_dn, user_dn in self.member_of:
            self._add_membership(group_dn, user_dn)
        self.member_of = []
        members: dict[str, list[str]] = {}
        spelling: dict[str, str] = {}
        for (group, member), (group_dn, member_dn) in self.memberships.items():
            members.setdefault(group, []).append(member)
            spelling.setdefault(group, group_dn)
            spelling.setdefault(member, member_dn)
        for group in members:
            seen: set[str] = set()
            stack = [m for m in members[group] if m in self.group_dns]
            while stack:  # iterative, and `seen` stops cycles (AD allows A ∈ B ∈ A)
                nested = stack.pop()
                if nested in seen:
                    continue
                seen.add(nested)
                for member in members.get(nested, []):
                    if member != group:
                        self._add_membership(spelling[group], spelling[member])
                    if member in self.group_dns:
                        stack.append(member)
