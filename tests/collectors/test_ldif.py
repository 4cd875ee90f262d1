"""LDIF directory collector: python-ldap's own LDIF cases, an OpenLDAP and an AD-shaped directory."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from collectors import ldif
from collectors.base import FormatError

DATA = Path(__file__).parents[1] / "data" / "ldif"
UPSTREAM = DATA / "python-ldap"
SNAPSHOT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)

# python-ldap Tests/t_ldif.py: the records each TestEntryRecords case expects (dn, {attr: [bytes]}).
UPSTREAM_RECORDS = {
    "empty": [],
    "simple": [("cn=x,cn=y,cn=z", {"attrib": [b"value", b"value2"]})],
    "simple2": [("cn=x,cn=y,cn=z", {"attrib": [b"value", b"value2"]})],
    "multiple": [
        ("cn=x,cn=y,cn=z", {"attrib": [b"value", b"value2"], "a": [b"v"]}),
        ("cn=a,cn=b,cn=c", {"attrib": [b"value2", b"value3"], "b": [b"v"]}),
    ],
    "folded": [("cn=x,cn=y,cn=z", {"attrib": [b"very long line-folded value"], "attrib2": [b"asdf." * 20]})],
    "empty_attr_values": [("cn=x,cn=y,cn=z", {"attrib1": [b"", b"foo"], "attrib2": [b"", b"foo"]})],
    "binary": [("cn=x,cn=y,cn=z", {"attrib": [b"\t\0\n:%@"]})],
    "binary2": [("cn=x,cn=y,cn=z", {"attrib": [b"\t\0\n:%@"]})],
    "big_binary": [("cn=x,cn=y,cn=z", {"attrib": [500 * b"\0"]})],
    "unicode": [("cn=Michael Stroeder,dc=stroeder,dc=com", {"lastname": [b"Str\303\266der"]})],
    "unencoded_unicode": [("cn=Michael Stroeder,dc=stroeder,dc=com", {"lastname": [b"Str\303\266der"]})],
    "sorted": [("cn=x,cn=y,cn=z", {"a": [b"value_a"], "b": [b"value_b"], "c": [b"value_c"]})],
    "comments": [
        ("cn=x1,cn=y1,cn=z1", {"a1": [b"value_a1"], "b1": [b"value_b1"], "c1": [b"value_c1"]}),
        ("cn=x2,cn=y2,cn=z2", {"a2": [b"value_a2"], "b2": [b"value_b2"], "c2": [b"value_c2"]}),
    ],
    "missing_trailing_line_separator": [
        ("cn=x1,cn=y1,cn=z1", {"first": [b"value_a1"], "middle": [b"value_b1"], "last": [b"value_c1"]}),
        ("cn=x2,cn=y2,cn=z2", {"first": [b"value_a2"], "middle": [b"value_b2"], "last": [b"value_c2"]}),
    ],
    "weird_empty_lines": [
        ("cn=x1,cn=y1,cn=z1", {"first": [b"value_a1"], "middle": [b"value_b1"], "last": [b"value_c1"]}),
        ("cn=x2,cn=y2,cn=z2", {"first": [b"value_a2"], "middle": [b"value_b2"], "last": [b"value_c2"]}),
    ],
    "multiple_empty_lines": [("uid=one,dc=tld", {"uid": [b"one"]}), ("uid=two,dc=tld", {"uid": [b"two"]})],
}
UPSTREAM_CHANGE_FILES = [
    "simple",
    "weird_empty_lines",
    "missing_trailing_dash_separator",
    "mod_increment",
    "bad_change_records",
]


def collect(path: Path, **options) -> tuple[dict[str, list[dict]], list, int]:
    """All rows per table, all rejects and the records read, over every chunk."""
    chunks = list(ldif.read(path, source="directory-test", observed_at=SNAPSHOT, **options))
    tables: dict[str, list[dict]] = {}
    for chunk in chunks:
        for name, table in chunk.tables.items():
            tables.setdefault(name, []).extend(table.to_pylist())
    rejects = [reject for chunk in chunks for reject in chunk.rejects]
    return tables, rejects, sum(chunk.rows_read for chunk in chunks)


def as_bytes(value: str | dict) -> bytes:
    return base64.b64decode(value["base64"]) if isinstance(value, dict) else value.encode("utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "snapshot.ldif"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("case", sorted(UPSTREAM_RECORDS))
def test_python_ldap_entry_records(case):
    path = UPSTREAM / f"entry_{case}.ldif"
    entries = list(ldif.entries(path))
    parsed = [
        (e.dn, {name: [as_bytes(v) for v in values] for name, values in e.attributes.items()})
        for e in entries
    ]
    assert parsed == UPSTREAM_RECORDS[case]

    # Entries without objectClass are read and accepted, but are neither users nor groups.
    tables, rejects, read = collect(path)
    assert (read, rejects) == (len(UPSTREAM_RECORDS[case]), [])
    assert tables.get("directory_users", []) == tables.get("directory_groups", []) == []


def test_binary_values_that_are_not_text_keep_a_base64_marker():
    (entry,) = ldif.entries(UPSTREAM / "entry_binary.ldif")
    assert entry.attributes == {"attrib": [{"base64": "CQAKOiVA"}]}
    (entry,) = ldif.entries(UPSTREAM / "entry_unicode.ldif")
    assert entry.attributes == {"lastname": ["Ströder"]}


@pytest.mark.parametrize("case", UPSTREAM_CHANGE_FILES)
def test_python_ldap_change_records_are_not_a_snapshot(case):
    with pytest.raises(FormatError, match="change file, not a directory snapshot") as error:
        collect(UPSTREAM / f"change_{case}.ldif")
    assert "changetype: modify" in str(error.value)
    assert str(error.value).count("\n") == 0


def test_version_line_alone_is_an_empty_snapshot():
    assert collect(UPSTREAM / "change_empty.ldif") == ({}, [], 0)


def test_openldap_directory():
    tables, rejects, read = collect(DATA / "openldap-directory.ldif")
    assert read == 13
    users = {row["uid"]: row for row in tables["directory_users"]}
    assert sorted(users) == ["alice", "bob", "carol", "erin"]
    assert {uid: row["enabled"] for uid, row in users.items()} == {
        "alice": True,
        "bob": False,  # pwdAccountLockedTime
        "carol": True,
        "erin": False,  # nsAccountLock: TRUE
    }
    alice = users["alice"]
    assert (alice["dn"], alice["email"], alice["display_name"]) == (
        "uid=alice,ou=people,dc=example,dc=org",
        "alice@example.org",
        "Alice A. Archer",
    )
    assert users["bob"]["display_name"] == "Bob Baker"  # no displayName: cn
    assert {row["snapshot_at"] for rows in tables.values() for row in rows} == {SNAPSHOT}
    assert {row["source"] for rows in tables.values() for row in rows} == {"directory-test"}

    carol = json.loads(users["carol"]["attributes"])
    assert users["carol"]["display_name"] == "Carol Clément"  # cn:: base64 UTF-8
    assert carol["description"] == [
        "Carol runs the on-call rotation for the payments team and owns the quarterly access review."
    ]
    assert as_bytes(carol["jpegphoto"][0])[:4] == b"\xff\xd8\xff\xe0"  # JPEG magic, kept as base64
    assert carol["objectclass"] == ["inetOrgPerson"]  # "objectclass:" and "UID:" read case-insensitively
    assert json.loads(users["bob"]["attributes"])["pwdfailuretime"] == ["20240301115901Z", "20240301115930Z"]

    groups = {row["name"]: row["dn"] for row in tables["directory_groups"]}
    assert groups == {
        "admins": "cn=admins,ou=groups,dc=example,dc=org",
        "auditors": "cn=auditors,ou=groups,dc=example,dc=org",
        "developers": "cn=developers,ou=groups,dc=example,dc=org",
    }
    memberships = sorted((row["group_dn"], row["member_dn"]) for row in tables["directory_memberships"])
    assert memberships == [
        # "uid=alice, ou=people, ..." and "UID=bob,..." normalized; alice's memberOf is the same pair.
        ("cn=admins,ou=groups,dc=example,dc=org", "uid=alice,ou=people,dc=example,dc=org"),
        ("cn=admins,ou=groups,dc=example,dc=org", "uid=bob,ou=people,dc=example,dc=org"),
        ("cn=auditors,ou=groups,dc=example,dc=org", "uid=carol,ou=people,dc=example,dc=org"),
        # posixGroup memberUid resolved to the users' DNs; "dave" has no entry and stays a raw uid.
        ("cn=developers,ou=groups,dc=example,dc=org", "dave"),
        ("cn=developers,ou=groups,dc=example,dc=org", "uid=alice,ou=people,dc=example,dc=org"),
        ("cn=developers,ou=groups,dc=example,dc=org", "uid=carol,ou=people,dc=example,dc=org"),
    ]

    assert [(r.position, r.reason) for r in rejects] == [
        (
            "entry 11 (line 87)",
            "line 92: attribute 'jpegphoto': external reference '<file:///etc/passwd' is not followed",
        ),
        (
            "entry 12 (line 94)",
            "line 95: malformed line 'objectClass groupOfNames' (expected 'attribute: value')",
        ),
        ("entry 13 (line 98)", "line 98: entry does not start with 'dn:' (found 'objectclass')"),
    ]
    assert rejects[0].raw.startswith("dn: uid=mallory,ou=people,dc=example,dc=org\n")


def test_active_directory():
    tables, rejects, read = collect(DATA / "ad-directory.ldif")
    assert read == 10
    users = {row["uid"]: row for row in tables["directory_users"]}
    # WS-0042 is a computer account (objectClass computer): no user row.
    assert {uid: row["enabled"] for uid, row in users.items()} == {
        "ddiaz": True,  # userAccountControl 512 = NORMAL_ACCOUNT
        "eeriksen": False,  # 514 = NORMAL_ACCOUNT | ACCOUNTDISABLE
        "ffischer": False,  # 66050 = 0x10202, DONT_EXPIRE_PASSWORD | ... | ACCOUNTDISABLE
        "ggreen": True,  # 66048 = 0x10200
    }
    assert users["eeriksen"]["dn"] == r"cn=Eriksen\, Evan,ou=Staff,dc=corp,dc=example,dc=com"
    assert users["eeriksen"]["display_name"] == "Evan Eriksen"
    assert users["ggreen"]["display_name"] == "Gus Green"
    assert users["ggreen"]["email"] is None
    dana = json.loads(users["ddiaz"]["attributes"])
    assert base64.b64decode(dana["objectguid"][0]["base64"]).hex() == "3f2504e04f8941d39a0c0305e82c3301"
    assert dana["userprincipalname"] == ["ddiaz@corp.example.com"]

    assert sorted(row["name"] for row in tables["directory_groups"]) == ["Domain Admins", "VPN Users"]
    assert sorted((row["group_dn"], row["member_dn"]) for row in tables["directory_memberships"]) == [
        (
            "cn=Domain Admins,cn=Users,dc=corp,dc=example,dc=com",
            "cn=Dana Diaz,ou=Staff,dc=corp,dc=example,dc=com",
        ),
        # Only on the user side (memberOf): the group is not in the export.
        (
            "cn=Print Operators,cn=Builtin,dc=corp,dc=example,dc=com",
            "cn=Gus Green,ou=Staff,dc=corp,dc=example,dc=com",
        ),
        (
            "cn=VPN Users,ou=Groups,dc=corp,dc=example,dc=com",
            "cn=Dana Diaz,ou=Staff,dc=corp,dc=example,dc=com",
        ),
        (
            "cn=VPN Users,ou=Groups,dc=corp,dc=example,dc=com",
            r"cn=Eriksen\, Evan,ou=Staff,dc=corp,dc=example,dc=com",
        ),
    ]
    assert [(r.position, r.reason) for r in rejects] == [
        ("entry 7 (line 66)", "line 73: attribute 'userAccountControl': not an integer ('enabled')"),
    ]


@pytest.mark.parametrize(
    ("dn", "normalized"),
    [
        ("CN = Alice , OU=People,DC=example", "cn=Alice,ou=People,dc=example"),
        (r"cn=Diaz\, Dana ,ou=Staff", r"cn=Diaz\, Dana,ou=Staff"),
        ('cn="Smith, J" , o=Acme', 'cn="Smith, J",o=Acme'),
        ("cn=a + sn=b,dc=x", "cn=a+sn=b,dc=x"),
        ("cn=a;dc=x", "cn=a,dc=x"),
        (r"cn=trailing\ ,dc=x", r"cn=trailing\ ,dc=x"),
        ("2.5.4.3=oid,dc=x", "2.5.4.3=oid,dc=x"),
    ],
)
def test_normalize_dn(dn, normalized):
    assert ldif.normalize_dn(dn) == normalized


@pytest.mark.parametrize("dn", ["no equals sign", "cn=a,,dc=x", "c n=a,dc=x"])
def test_normalize_dn_rejects_malformed(dn):
    with pytest.raises(ValueError, match="malformed DN"):
        ldif.normalize_dn(dn)


def test_bad_entries_are_rejected_with_their_position(tmp_path):
    path = write(
        tmp_path,
        "dn: cn=ok,dc=x\nobjectClass: person\ncn: ok\n\n"
        "dn: cn=b64,dc=x\nobjectClass: person\ncn:: not*base64\n\n"
        "dn: cn=twice,dc=x\ncn: twice\ndn: cn=other,dc=x\n\n"
        "dn: cn=group,dc=x\nobjectClass: groupOfNames\nmember: not a dn\n\n"
        " folded without a line before it\n\n"
        "dn: cn=latin1,dc=x\ncn: placeholder\n",
    )
    path.write_bytes(path.read_bytes().replace(b"placeholder", "Ströder".encode("latin-1")))
    tables, rejects, read = collect(path)
    assert read == 6
    assert [row["dn"] for row in tables["directory_users"]] == ["cn=ok,dc=x"]
    assert [(r.position, r.reason) for r in rejects] == [
        ("entry 2 (line 5)", "line 7: attribute 'cn': invalid base64 value"),
        ("entry 3 (line 9)", "line 11: second 'dn:' line in one entry (missing blank line between entries?)"),
        ("entry 4 (line 13)", "line 15: attribute 'member': malformed DN 'not a dn' (no '=' in 'not a dn')"),
        (
            "entry 5 (line 17)",
            "line 17: malformed line ' folded without a line before it' (expected 'attribute: value')",
        ),
        ("entry 6 (line 19)", "line 20: attribute 'cn': value is not UTF-8 (binary values need '::')"),
    ]


def test_base64_dn_and_ldifde_add_records(tmp_path):
    dn = base64.b64encode("cn=Jürgen Jäger,ou=Leute,dc=example,dc=de".encode()).decode()
    path = write(
        tmp_path,
        f"version: 1\ndn:: {dn}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: jj\nmail: jj@example.de\n",
    )
    tables, rejects, _ = collect(path)
    (user,) = tables["directory_users"]
    assert (user["dn"], user["uid"], user["email"], user["enabled"]) == (
        "cn=Jürgen Jäger,ou=Leute,dc=example,dc=de",
        "jj",
        "jj@example.de",
        True,
    )
    assert "changetype" not in json.loads(user["attributes"])


def test_unsupported_version_and_missing_file(tmp_path):
    with pytest.raises(FormatError, match="unsupported LDIF version"):
        collect(write(tmp_path, "version: 2\n\ndn: cn=x\ncn: x\n"))
    with pytest.raises(FormatError, match="cannot open LDIF file"):
        collect(tmp_path / "missing.ldif")


def test_memberuid_matching_two_users_is_left_unresolved(tmp_path):
    path = write(
        tmp_path,
        "dn: uid=sam,ou=a,dc=x\nobjectClass: posixAccount\nuid: sam\n\n"
        "dn: uid=sam,ou=b,dc=x\nobjectClass: posixAccount\nuid: sam\n\n"
        "dn: cn=ops,dc=x\nobjectClass: posixGroup\ncn: ops\nmemberUid: sam\n",
    )
    tables, _, _ = collect(path)
    assert [(r["group_dn"], r["member_dn"]) for r in tables["directory_memberships"]] == [
        ("cn=ops,dc=x", "sam")
    ]


def test_chunks_are_bounded_and_account_for_every_entry(tmp_path):
    people = "".join(
        f"dn: uid=u{i},ou=people,dc=x\nobjectClass: inetOrgPerson\nuid: u{i}\n"
        f"{'userAccountControl: x' if i % 10 == 0 else 'mail: u' + str(i) + '@x.org'}\n\n"
        for i in range(45)
    )
    group = "dn: cn=all,dc=x\nobjectClass: posixGroup\ncn: all\n" + "".join(
        f"memberUid: u{i}\n" for i in range(45)
    )
    path = write(tmp_path, people + group)
    chunks = list(ldif.read(path, source="s", chunk_rows=10, observed_at=SNAPSHOT))
    entry_chunks = [c for c in chunks if c.rows_read]
    assert [c.rows_read for c in entry_chunks] == [10, 10, 10, 10, 6]
    assert sum(c.accepted for c in chunks) == 41  # 45 users - 5 bad userAccountControl + 1 group
    assert sum(len(c.rejects) for c in chunks) == 5
    memberships = [
        c.tables["directory_memberships"].num_rows for c in chunks if "directory_memberships" in c.tables
    ]
    assert memberships == [10, 10, 10, 10, 5]
    assert all(c.tables["directory_users"].num_rows <= 10 for c in entry_chunks)


def test_snapshot_defaults_to_file_mtime(tmp_path):
    path = write(tmp_path, "dn: uid=a,dc=x\nobjectClass: person\nuid: a\n")
    mtime = datetime(2025, 7, 1, 12, 30, tzinfo=UTC)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    (chunk,) = ldif.read(path, source="s")
    assert chunk.tables["directory_users"].column("snapshot_at").to_pylist() == [mtime]


def test_ingest_balances(tmp_path):
    from opsledger.ingest import ingest_file

    result = ingest_file(
        tmp_path / "lake", "directory", DATA / "openldap-directory.ldif", observed_at=SNAPSHOT
    )
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (13, 10, 3)
    stored = {
        table: pq.read_table(tmp_path / "lake" / table).num_rows
        for table in ("directory_users", "directory_groups", "directory_memberships")
    }
    assert stored == {"directory_users": 4, "directory_groups": 3, "directory_memberships": 6}


def test_a_bad_entry_from_a_search_is_rejected_without_a_file_line():
    # The classification is the LDIF one; a search result has no line to name (no "line 0:").
    from datetime import UTC, datetime

    from collectors.ldap_live import _entry, _LiveSnapshot

    response = {
        "dn": "cn=alice,ou=people,dc=example,dc=org",
        "raw_attributes": {
            "objectClass": [b"user"],
            "sAMAccountName": [b"alice"],
            "userAccountControl": [b"often"],
        },
    }
    snapshot = _LiveSnapshot(
        "ldap:corp", datetime(2026, 10, 1, tzinfo=UTC), 100, nested=False, only_read_groups=False
    )
    snapshot.add(_entry(1, response))
    [reject] = snapshot.rejects
    assert (reject.position, reject.reason) == (
        "entry 1 (cn=alice,ou=people,dc=example,dc=org)",
        "attribute 'userAccountControl': not an integer ('often')",
    )
