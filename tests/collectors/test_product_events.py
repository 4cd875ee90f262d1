"""Product events collector: PostHog export shape (tests/data/events/posthog_export.jsonl)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import product_events
from collectors.base import FormatError
from opsledger.contract import SCHEMAS

EXPORT = Path(__file__).parents[1] / "data" / "events" / "posthog_export.jsonl"


def collect(path: Path) -> tuple[list[dict], list]:
    rows, rejects, read = [], [], 0
    for chunk in product_events.read(path, source="posthog"):
        table = chunk.tables["product_events"]
        assert table.schema.equals(SCHEMAS["product_events"])
        rows += table.to_pylist()
        rejects += chunk.rejects
        read += chunk.rows_read
    assert read == len(rows) + len(rejects)
    return sorted(rows, key=lambda r: r["ts"]), rejects


def test_posthog_export():
    source = [json.loads(line) for line in EXPORT.read_text().splitlines() if line.strip()]

    rows, rejects = collect(EXPORT)

    assert rejects == []
    assert len(rows) == len(source) == 5
    got = [(r["ts"], r["distinct_id"], r["event"], r["session_id"], r["tenant_id"]) for r in rows]
    assert got == [
        (datetime(2026, 10, 1, 7, 2, 10, tzinfo=UTC), "jdoe", "add_to_cart", "s-100", "acme"),
        (datetime(2026, 10, 1, 8, 5, tzinfo=UTC), "mlee", "begin_checkout", "s-200", "globex"),
        (datetime(2026, 10, 1, 8, 7, 30, 500000, tzinfo=UTC), "mlee", "purchase", "s-200", "globex"),
        (datetime(2026, 10, 1, 9, 0, 0, 120000, tzinfo=UTC), "anon-7f3a", "$pageview", "s-100", "acme"),
        (datetime(2026, 10, 1, 9, 0, 41, 5000, tzinfo=UTC), "anon-7f3a", "view_item", "s-100", "acme"),
    ]
    by_uuid = {json.loads(r["properties"])["uuid"]: json.loads(r["properties"]) for r in rows}
    for event in source:
        properties = by_uuid[event["uuid"]]
        # the event's own properties, untouched, plus the top-level keys no column holds
        assert {k: v for k, v in properties.items() if k != "uuid"} == event["properties"]
    assert by_uuid["01926f3e-0001-7000-8000-000000000001"]["$browser"] == "Firefox"


def test_top_level_session_and_tenant_win_over_properties(tmp_path):
    line = {
        "timestamp": "2026-10-01T10:00:00Z",
        "distinct_id": "p1",
        "event": "signup",
        "session_id": "top",
        "tenant_id": "acme",
        "properties": {"$session_id": "inner", "tenant_id": "globex", "plan": "pro"},
    }
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(line) + "\n")

    (row,), rejects = collect(path)

    assert rejects == []
    assert (row["session_id"], row["tenant_id"]) == ("top", "acme")
    assert json.loads(row["properties"]) == line["properties"]


def test_bad_events_are_rejected_with_a_reason(tmp_path):
    content = "\n".join(
        [
            '{"timestamp": "2026-10-01T10:00:00Z", "distinct_id": "p1", "event": "ok"}',
            '{"distinct_id": "p1", "event": "no time"}',
            '{"timestamp": "soon", "distinct_id": "p1", "event": "x"}',
            '{"timestamp": "2026-10-01T10:00:00Z", "distinct_id": "p1"}',
            '{"timestamp": "2026-10-01T10:00:00Z", "event": "anonymous"}',
            '{"timestamp": "2026-10-01T10:00:00Z", "distinct_id": "p1", "event": "cut',
            "",
        ]
    )
    path = tmp_path / "bad.jsonl"
    path.write_text(content)

    rows, rejects = collect(path)

    assert [r["event"] for r in rows] == ["ok"]
    assert json.loads(rows[0]["properties"]) == {}
    assert sorted((r.position, r.reason) for r in rejects) == [
        ("line 2", "field 'ts': missing"),
        ("line 3", "field 'timestamp': not a timestamp ('soon')"),
        ("line 4", "field 'event': missing"),
        ("line 5", "field 'distinct_id': missing"),
        ("line 6", "not valid JSON"),
    ]


def test_json_array_export(tmp_path):
    source = [json.loads(line) for line in EXPORT.read_text().splitlines() if line.strip()]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(source, indent=2))

    rows, rejects = collect(path)

    assert rejects == []
    assert sorted(r["event"] for r in rows) == sorted(e["event"] for e in source)


def test_not_json_at_all_is_a_format_error(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("timestamp,distinct_id,event\n2026-10-01,p1,signup\n")
    with pytest.raises(FormatError, match="not JSON lines"):
        list(product_events.read(path, source="x"))
