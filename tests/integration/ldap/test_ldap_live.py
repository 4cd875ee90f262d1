"""The live LDAP collector against a real slapd: same rows as the LDIF file, faults, escaping."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime

import duckdb
import pytest

from opsledger import lake, watermarks
from opsledger.demo.model import BASE_DN
from opsledger.errors import OpsledgerError
from opsledger.ingest import ingest_file
from opsledger.live_directory import collect_directory

from .conftest import PASSWORD_ENV, READER_PASSWORD, ROOT_PASSWORD, free_port

SNAPSHOT_AT = datetime(2026, 10, 3, 23, 0, tzinfo=UTC)
TABLES = ("directory_users", "directory_groups", "directory_memberships")


def _rows(lake_dir, table: str, columns: str) -> list[tuple]:
    if not lake.has_files(lake_dir, table):
        return []
    con = duckdb.connect()
    try:
        glob = lake.table_glob(lake_dir, table)
        return con.execute(f"select {columns} from read_parquet(?) order by all", [glob]).fetchall()
    finally:
        con.close()


def _counts(lake_dir) -> dict[str, int]:
    return {table: len(_rows(lake_dir, table, "*")) for table in TABLES}


def _batches(lake_dir) -> list[tuple]:
    return _rows(lake_dir, "ingest_batches", "status, rows_read, rows_written, rows_quarantined, error")


def _file_entries(ldif_text: str) -> list[str]:
    return [block for block in re.split(r"\n\s*\n", ldif_text) if block.startswith("dn:")]


def test_live_snapshot_equals_file_snapshot(slapd, demo_ldif, tmp_path):
    live, files = tmp_path / "live", tmp_path / "files"
    result = collect_directory(live, slapd.settings(), snapshot_at=SNAPSHOT_AT, chunk_rows=10)
    ingest_file(files / "lake", "directory", demo_ldif, source="ldap:corp", observed_at=SNAPSHOT_AT)

    entries = _file_entries(demo_ldif.read_text())
    n_users = sum("objectClass: inetOrgPerson" in e for e in entries)
    n_groups = sum("objectClass: groupOfNames" in e for e in entries)
    assert n_users > 40 and n_groups > 4  # 4 role groups + the tenants: many pages of 7 entries
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (n_users + n_groups,) * 2 + (
        0,
    )

    users = "snapshot_at, dn, uid, email, display_name, enabled, source"
    assert _rows(live / "lake", "directory_users", users) == _rows(files / "lake", "directory_users", users)
    assert len(_rows(live / "lake", "directory_users", users)) == n_users
    groups = "snapshot_at, dn, name, source"
    assert _rows(live / "lake", "directory_groups", groups) == _rows(
        files / "lake", "directory_groups", groups
    )
    pairs = "snapshot_at, group_dn, member_dn, source"
    live_pairs = _rows(live / "lake", "directory_memberships", pairs)
    assert live_pairs == _rows(files / "lake", "directory_memberships", pairs)
    assert len(live_pairs) == sum(e.count("\nmember: ") for e in entries)

    # Every attribute of the file is in the live JSON too; the server adds only memberOf.
    def documents(lake_dir):
        return {dn: json.loads(doc) for dn, doc in _rows(lake_dir, "directory_users", "dn, attributes")}

    live_docs, file_docs = documents(live / "lake"), documents(files / "lake")
    assert {dn: {k: v for k, v in d.items() if k != "memberof"} for dn, d in live_docs.items()} == file_docs
    assert all(doc.get("memberof") for doc in live_docs.values())  # every demo user is in a tenant group
    assert watermarks.get(live, "ldap:corp", "directory") == SNAPSHOT_AT


def test_locked_account_is_disabled(slapd, demo_ldif, tmp_path):
    locked = [e for e in _file_entries(demo_ldif.read_text()) if "pwdAccountLockedTime:" in e]
    assert len(locked) == 1
    locked_uid = re.search(r"^uid: (\S+)$", locked[0], re.M).group(1)
    collect_directory(tmp_path, slapd.settings(), snapshot_at=SNAPSHOT_AT)
    enabled = dict(_rows(tmp_path / "lake", "directory_users", "uid, enabled"))
    assert [uid for uid, on in enabled.items() if not on] == [locked_uid]
    assert sum(enabled.values()) == len(enabled) - 1 > 40


def test_second_run_of_the_same_snapshot_changes_no_count(slapd, tmp_path):
    collect_directory(tmp_path, slapd.settings(), snapshot_at=SNAPSHOT_AT)
    first = _counts(tmp_path / "lake")
    collect_directory(tmp_path, slapd.settings(), snapshot_at=SNAPSHOT_AT.replace(hour=23, minute=30))
    assert _counts(tmp_path / "lake") == first
    assert [b[0] for b in _batches(tmp_path / "lake")] == ["succeeded", "succeeded"]
    # A snapshot of the next day is history beside it, not a replacement.
    collect_directory(tmp_path, slapd.settings(), snapshot_at=datetime(2026, 10, 4, 1, tzinfo=UTC))
    assert _counts(tmp_path / "lake") == {table: 2 * n for table, n in first.items()}


def test_group_names_are_escaped_in_the_filter(slapd, tmp_path):
    crafted = slapd.settings(group_names=("*)(uid=*",))
    collect_directory(tmp_path / "crafted", crafted, snapshot_at=SNAPSHOT_AT)
    assert _rows(tmp_path / "crafted" / "lake", "directory_groups", "name") == []
    assert _rows(tmp_path / "crafted" / "lake", "directory_memberships", "group_dn") == []

    collect_directory(tmp_path / "admins", slapd.settings(group_names=("admins",)), snapshot_at=SNAPSHOT_AT)
    assert _rows(tmp_path / "admins" / "lake", "directory_groups", "name") == [("admins",)]
    groups = {g for (g,) in _rows(tmp_path / "admins" / "lake", "directory_memberships", "group_dn")}
    assert groups == {f"cn=admins,ou=groups,{BASE_DN}"}


def test_server_down_at_start_fails_after_retries_and_keeps_previous_data(slapd, tmp_path):
    collect_directory(tmp_path, slapd.settings(), snapshot_at=SNAPSHOT_AT)
    before = _counts(tmp_path / "lake")
    down_url = f"ldap://127.0.0.1:{free_port()}"  # nothing listens there
    settings = slapd.settings(url=down_url, retries=3, backoff_seconds=0.05)
    started = time.monotonic()
    with pytest.raises(OpsledgerError) as failure:
        collect_directory(tmp_path, settings, snapshot_at=SNAPSHOT_AT.replace(minute=30))
    message = str(failure.value)
    assert message.startswith(f"ldap:corp: connect and bind at {down_url} failed after 4 attempts: ")
    assert "\n" not in message
    assert 0.1 < time.monotonic() - started < 10  # it did back off, and did not hang
    assert _counts(tmp_path / "lake") == before
    assert watermarks.get(tmp_path, "ldap:corp", "directory") == SNAPSHOT_AT
    assert sorted(b[0] for b in _batches(tmp_path / "lake")) == ["failed", "succeeded"]


def test_wrong_password_is_one_clear_error_without_the_password(slapd, tmp_path, monkeypatch, caplog):
    wrong = "Wrong-pw-Xq93-never-shown"
    monkeypatch.setenv(PASSWORD_ENV, wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OpsledgerError) as failure:
        collect_directory(tmp_path, slapd.settings(), snapshot_at=SNAPSHOT_AT)
    message = str(failure.value)
    assert "ldap:corp" in message and slapd.url in message and "invalid credentials" in message
    failed = _batches(tmp_path / "lake")
    assert [b[0] for b in failed] == ["failed"]
    for text in (message, caplog.text, failed[0][4]):
        for secret in (wrong, READER_PASSWORD, ROOT_PASSWORD):
            assert secret not in text
    assert _counts(tmp_path / "lake") == dict.fromkeys(TABLES, 0)
    assert watermarks.get(tmp_path, "ldap:corp", "directory") is None


def test_server_killed_mid_collection_keeps_previous_data_and_rerun_does_not_duplicate(
    start_slapd, demo_ldif, tmp_path
):
    server = start_slapd(demo_ldif)
    settings = server.settings(page_size=5)
    collect_directory(tmp_path, settings, snapshot_at=SNAPSHOT_AT, chunk_rows=5)
    before = {table: _rows(tmp_path / "lake", table, "*") for table in TABLES}
    assert all(before.values())

    def kill_on_second_page(page: int) -> None:
        if page == 2:
            server.kill()

    later = SNAPSHOT_AT.replace(minute=45)
    with pytest.raises(OpsledgerError) as failure:
        collect_directory(tmp_path, settings, snapshot_at=later, chunk_rows=5, on_page=kill_on_second_page)
    assert "ldap:corp" in str(failure.value) and server.url in str(failure.value)
    assert "page 3" in str(failure.value)
    assert {table: _rows(tmp_path / "lake", table, "*") for table in TABLES} == before
    assert watermarks.get(tmp_path, "ldap:corp", "directory") == SNAPSHOT_AT

    server.start()  # same port, same database
    collect_directory(tmp_path, settings, snapshot_at=later, chunk_rows=5)
    after = {table: _rows(tmp_path / "lake", table, "*") for table in TABLES}
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}
    assert watermarks.get(tmp_path, "ldap:corp", "directory") == later


def _ad_entry(dn: str, object_class: str, *lines: str) -> str:
    # What the AD schema (OpenLDAP's msuser.schema) requires of every object; that schema lacks
    # AD's securityPrincipal class (which carries sAMAccountName), so extensibleObject stands in.
    category = "Person" if object_class == "user" else "Group"
    return "\n".join(
        [f"dn: {dn}", "objectClass: top", f"objectClass: {object_class}", "objectClass: extensibleObject"]
        + ["instanceType: 4"]
        + [
            "nTSecurityDescriptor:: AQAEgA==",
            f"objectCategory: CN={category},CN=Schema,CN=Configuration,{BASE_DN}",
        ]
        + list(lines)
    )


def _ad_directory() -> str:
    corp = f"ou=corp,{BASE_DN}"
    users = [
        _ad_entry(f"cn=Alice Archer,{corp}", "user", "cn: Alice Archer", "sAMAccountName: alice",
                  "userAccountControl: 512", "mail: alice@corp.example", "sn: Archer"),
        _ad_entry(f"cn=Bob Baker,{corp}", "user", "cn: Bob Baker", "sAMAccountName: bob",
                  "userAccountControl: 514", "sn: Baker"),
    ]  # fmt: skip
    groups = [
        _ad_entry(f"cn=Engineering,{corp}", "group", "cn: Engineering", "groupType: -2147483646",
                  f"member: cn=Backend,{corp}"),
        _ad_entry(f"cn=Backend,{corp}", "group", "cn: Backend", "groupType: -2147483646",
                  f"member: cn=Alice Archer,{corp}", f"member: cn=Engineering,{corp}"),
        _ad_entry(f"cn=R&D (ops)*,{corp}", "group", "cn: R&D (ops)*", "groupType: -2147483646",
                  f"member: cn=Bob Baker,{corp}"),
    ]  # fmt: skip
    head = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: northwind\no: Northwind",
        f"dn: {corp}\nobjectClass: organizationalUnit\nou: corp",
    ]
    return "\n\n".join(head + users + groups) + "\n"


def test_active_directory_accounts_and_nested_groups(start_slapd, tmp_path):
    server = start_slapd(_ad_directory(), active_directory_schema=True)
    corp = f"ou=corp,{BASE_DN}"
    # slapd has no objectCategory=person shorthand: the AD default filters are given explicitly.
    settings = server.settings(
        flavor="active_directory", user_filter="(objectClass=user)", group_filter="(objectClass=group)"
    )
    collect_directory(tmp_path, settings, snapshot_at=SNAPSHOT_AT)
    users = _rows(tmp_path / "lake", "directory_users", "uid, email, display_name, enabled")
    assert users == [("alice", "alice@corp.example", "Alice Archer", True), ("bob", None, "Bob Baker", False)]
    pairs = set(_rows(tmp_path / "lake", "directory_memberships", "group_dn, member_dn"))
    engineering, backend, alice = f"cn=Engineering,{corp}", f"cn=Backend,{corp}", f"cn=Alice Archer,{corp}"
    assert pairs == {
        (engineering, backend),
        (backend, alice),
        (backend, engineering),
        (engineering, alice),  # through Backend: resolved despite the Engineering ∈ Backend cycle
        (f"cn=R&D (ops)*,{corp}", f"cn=Bob Baker,{corp}"),
    }

    only = server.settings(**dict(settings) | {"group_names": ("R&D (ops)*",)})
    collect_directory(tmp_path / "only", only, snapshot_at=SNAPSHOT_AT)
    assert _rows(tmp_path / "only" / "lake", "directory_groups", "name") == [("R&D (ops)*",)]
