"""Audit events collector: Kubernetes audit captures (Falco's test traces) and generic audit JSON lines.

Upstream data: falcosecurity/falco test/trace_files/k8s_audit/*.json (one Event each), with the
Falco rule each one triggers summarised in tests/data/audit/k8s_audit_falco/EXPECTED_DETECTIONS.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import audit
from collectors.base import FormatError
from opsledger.contract import SCHEMAS

FALCO = Path(__file__).parents[1] / "data" / "audit" / "k8s_audit_falco"

# What each capture is (EXPECTED_DETECTIONS.md), as the row a compliance control would read:
# file -> (Falco rule, actor, action, resource, outcome, ts = stageTimestamp, source_ip)
CAPTURES = {
    "exec_pod.json": (
        "Attach/Exec Pod", "minikube-user", "create", "pods/default/nginx-deployment-7998647bdf-phvq7/exec",
        "success", "2018-10-26T13:38:34.902914Z", "192.168.99.1",
    ),
    "attach_cluster_admin_role.json": (
        "Attach to cluster-admin Role", "minikube-user", "create", "clusterrolebindings/some-reader-binding",
        "success", "2018-10-26T14:26:34.242498Z", "192.168.99.1",
    ),
    "anonymous_creates_namespace_foo.json": (
        "Anonymous Request Allowed", "system:anonymous", "create", "namespaces/foo",
        "success", "2018-10-25T13:58:49.736141Z", "192.168.99.1",
    ),
    "some-user_creates_namespace_foo.json": (
        "K8s Namespace Created", "some-user", "create", "namespaces/foo",
        "success", "2018-10-25T13:58:49.736141Z", "192.168.99.1",
    ),
    "delete_namespace_foo.json": (
        "K8s Namespace Deleted", "minikube-user", "delete", "namespaces/foo/foo",
        "success", "2018-10-26T13:00:25.246927Z", "192.168.99.1",
    ),
    "delete_configmap.json": (
        "K8s ConfigMap Deleted", "minikube-user", "delete", "configmaps/default/my-config",
        "success", "2018-10-26T13:13:33.773884Z", "192.168.99.1",
    ),
    "delete_secret.json": (
        "K8s Secret Deleted", "minikube-user", "delete", "secrets/default/example-secret",
        "success", "2020-04-21T17:58:49.696309Z", "192.168.64.1",
    ),
}  # fmt: skip


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def collect(path: Path) -> tuple[list[dict], list]:
    rows, rejects, read = [], [], 0
    for chunk in audit.read(path, source="audit-test"):
        table = chunk.tables["audit_events"]
        assert table.schema.equals(SCHEMAS["audit_events"])
        rows += table.to_pylist()
        rejects += chunk.rejects
        read += chunk.rows_read
    assert read == len(rows) + len(rejects)
    return rows, rejects


def test_every_capture_is_listed_in_expected_detections():
    listed = (FALCO / "EXPECTED_DETECTIONS.md").read_text()
    assert sorted(p.name for p in FALCO.glob("*.json")) == sorted(CAPTURES)
    for name, (rule, *_) in CAPTURES.items():
        assert f"| {name} |" in listed and rule in listed


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_kubernetes_capture_maps_actor_action_resource_outcome(name):
    _, actor, action, resource, outcome, ts, ip = CAPTURES[name]
    event = json.loads((FALCO / name).read_text())

    rows, rejects = collect(FALCO / name)

    assert rejects == []
    (row,) = rows
    assert (row["actor"], row["action"], row["resource"], row["outcome"]) == (
        actor,
        action,
        resource,
        outcome,
    )
    assert row["ts"] == utc(ts)
    assert row["source_ip"] == ip
    assert row["session_id"] == event["auditID"]
    assert row["user_agent"] == event.get("userAgent")
    assert row["tenant_id"] is None
    assert json.loads(row["details"]) == event  # everything, including request/response objects
    assert row["source"] == "audit-test"


def test_pretty_printed_document_and_array_give_the_same_rows(tmp_path):
    events = [json.loads((FALCO / name).read_text()) for name in sorted(CAPTURES)]
    as_lines = tmp_path / "events.jsonl"
    as_lines.write_text("".join(json.dumps(e) + "\n" for e in events))
    as_array = tmp_path / "events.json"
    as_array.write_text(json.dumps(events, indent=2))
    concatenated = tmp_path / "pretty.json"
    concatenated.write_text("\n".join(json.dumps(e, indent=4) for e in events))
    single = tmp_path / "one.json"
    single.write_text(json.dumps(events[0], indent=2))

    def columns(path):
        rows, rejects = collect(path)
        assert rejects == []
        return sorted(
            (r["ts"], r["session_id"], r["actor"], r["action"], r["resource"], r["outcome"]) for r in rows
        )

    expected = columns(as_lines)
    assert len(expected) == 7
    assert columns(as_array) == expected
    assert columns(concatenated) == expected
    # two captures share an auditID (the same request replayed with another user)
    first = (events[0]["auditID"], events[0]["user"]["username"])
    assert columns(single) == [e for e in expected if (e[1], e[2]) == first]


def test_kubernetes_outcome_follows_the_response_code(tmp_path):
    event = json.loads((FALCO / "delete_secret.json").read_text())
    lines = []
    for code in (200, 201, 101, 401, 403, 404, 409, 500, None):
        variant = dict(event, auditID=f"id-{code}")
        if code is None:
            variant.pop("responseStatus")
            variant["stage"] = "RequestReceived"
        else:
            variant["responseStatus"] = {"code": code}
        lines.append(json.dumps(variant))
    path = tmp_path / "codes.jsonl"
    path.write_text("\n".join(lines))

    rows, rejects = collect(path)

    assert rejects == []
    assert {r["session_id"]: r["outcome"] for r in rows} == {
        "id-200": "success",
        "id-201": "success",
        "id-101": "success",
        "id-401": "failure",
        "id-403": "failure",
        "id-404": "error",
        "id-409": "error",
        "id-500": "error",
        "id-None": None,
    }


def test_generic_audit_lines(tmp_path):
    lines = [
        {"ts": "2026-10-01T08:00:00Z", "actor": "alice", "action": "login", "resource": "app/shop",
         "outcome": "success", "tenant_id": "acme", "session_id": "s1", "source_ip": "203.0.113.7",
         "user_agent": "Mozilla/5.0", "details": {"mfa": True}},
        {"@timestamp": "2026-10-01T08:01:00+02:00", "user": {"id": "u-2", "name": "Bob"}, "action": "login",
         "target": {"id": "app/admin"}, "result": "DENIED", "ip": "198.51.100.9"},
        {"timestamp": "2026-10-01T08:02:00.5Z", "actor": "ci", "action": "deploy", "resource": "svc/cart",
         "outcome": "Failed"},
        {"ts": "2026-10-01T08:03:00Z", "actor": "carol", "action": "role.grant", "outcome": 500},
        {"ts": "2026-10-01T08:04:00Z", "actor": "dave", "action": "logout"},
    ]  # fmt: skip
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    rows, rejects = collect(path)

    assert rejects == []
    got = [(r["ts"], r["actor"], r["action"], r["resource"], r["outcome"], r["source_ip"]) for r in rows]
    assert sorted(got) == [
        (utc("2026-10-01T06:01:00Z"), "u-2", "login", "app/admin", "failure", "198.51.100.9"),
        (utc("2026-10-01T08:00:00Z"), "alice", "login", "app/shop", "success", "203.0.113.7"),
        (utc("2026-10-01T08:02:00.5Z"), "ci", "deploy", "svc/cart", "failure", None),
        (utc("2026-10-01T08:03:00Z"), "carol", "role.grant", None, "error", None),
        (utc("2026-10-01T08:04:00Z"), "dave", "logout", None, None, None),
    ]
    alice = next(r for r in rows if r["actor"] == "alice")
    assert (alice["tenant_id"], alice["session_id"], alice["user_agent"]) == ("acme", "s1", "Mozilla/5.0")
    assert json.loads(alice["details"]) == lines[0]


def test_bad_audit_records_are_rejected_with_a_reason(tmp_path):
    content = "\n".join(
        [
            '{"ts": "2026-10-01T08:00:00Z", "actor": "a", "action": "login", "outcome": "success"}',
            '{"actor": "a", "action": "login"}',
            '{"ts": "last tuesday", "actor": "a", "action": "login"}',
            '{"ts": "2026-10-01T08:00:00Z", "actor": "a"}',
            '{"ts": "2026-10-01T08:00:00Z", "actor": "a", "action": "login", "outcome": "pending"}',
            '{"kind": "Event", "auditID": "x", "verb": "get", "user": {"username": "u"}}',
            '{"ts": "2026-10-01T08:00:00Z", "actor": "a", "action": "lo',
        ]
    )
    path = tmp_path / "bad.jsonl"
    path.write_text(content)

    rows, rejects = collect(path)

    assert len(rows) == 1
    assert [(r.position, r.reason) for r in sorted(rejects, key=lambda r: int(r.position.split()[1]))] == [
        ("line 2", "field 'ts': missing"),
        ("line 3", "field 'ts': not a timestamp ('last tuesday')"),
        ("line 4", "field 'action': missing"),
        ("line 5", "field 'outcome': not success, failure or error ('pending')"),
        ("line 6", "field 'ts': missing"),
        ("line 7", "not valid JSON"),
    ]
    assert {r.raw for r in rejects} == set(content.splitlines()[1:])


def test_array_entries_that_are_not_objects_are_rejected_by_entry(tmp_path):
    event = json.loads((FALCO / "exec_pod.json").read_text())
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([event, "not an event", 42]))

    rows, rejects = collect(path)

    assert [r["action"] for r in rows] == ["create"]
    assert sorted((r.position, r.reason, r.raw) for r in rejects) == [
        ("entry 2", "not a JSON object", '"not an event"'),
        ("entry 3", "not a JSON object", "42"),
    ]


def test_broken_json_document_is_a_format_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "kind": "Event",\n  "verb": ')
    with pytest.raises(FormatError, match="not JSON lines and not a JSON document"):
        list(audit.read(path, source="x"))
