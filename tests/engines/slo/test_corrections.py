"""SLO corrections: the audit event written (and accounted), idempotence, one-line errors, and the
SLI, error budget, replayed alerts and SLA months before and after a correction, worked by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from opsledger.config import Sla
from opsledger.contract import table_from_pydict
from opsledger.errors import OpsledgerError
from opsledger.slo.corrections import (
    list_lake_corrections,
    record_correction,
)
from opsledger.slo.durations import Shorthand
from opsledger.slo.evaluate import evaluate
from opsledger.slo.replay import replay_alerts
from opsledger.slo.sla import report_month
from opsledger.slo.spec import SLO, Objective, Origin, RatioIndicator, SqlSource, TimeWindow

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
SLO_SPEC = SLO(
    name="api-availability",
    service="api",
    objectives=(Objective(target=0.999, target_percent=99.9),),
    time_window=TimeWindow(duration=Shorthand(30, "d")),
    indicator=RatioIndicator(
        good=SqlSource(table="log_records", filter="http_status < 500"),
        total=SqlSource(table="log_records"),
    ),
    origin=Origin(path=Path("test.yaml"), format="openslo/v1"),
)
AT = T0 + 1000 * MINUTE


def read_lake(lake_dir: Path, table: str) -> list[dict]:
    files = sorted((lake_dir / table).glob("date=*/*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def warehouse(lake_dir: Path) -> duckdb.DuckDBPyConnection:
    """1,000 minutes of one request each from T0; minutes 100–109 answer 503 (10 bad of 1,000).
    ``audit_events`` is what the lake holds, as the warehouse view would show it."""
    con = duckdb.connect()
    statuses = [503 if 100 <= i < 110 else 200 for i in range(1000)]
    con.register(
        "log_records",
        table_from_pydict(
            "log_records",
            {
                "ts": [T0 + i * MINUTE + timedelta(seconds=30) for i in range(1000)],
                "service": ["api"] * 1000,
                "http_status": statuses,
                "source": ["test"] * 1000,
            },
        ),
    )
    audit = read_lake(lake_dir, "audit_events")
    con.register(
        "audit_events",
        table_from_pydict("audit_events", {k: [r[k] for r in audit] for k in audit[0]})
        if audit
        else table_from_pydict("audit_events", {}),
    )
    return con


def test_a_correction_is_one_accounted_audit_event(tmp_path):
    found, created = record_correction(
        tmp_path,
        "api-availability",
        T0 + 100 * MINUTE,
        T0 + 105 * MINUTE,
        "load test",
        "alice",
        now=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    assert created
    rows = read_lake(tmp_path, "audit_events")
    assert len(rows) == 1
    row = rows[0]
    assert (row["action"], row["actor"], row["resource"], row["outcome"], row["source"]) == (
        "slo.correction",
        "alice",
        "api-availability",
        "success",
        "opsledger:corrections",
    )
    assert row["ts"] == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert json.loads(row["details"]) == {
        "correction_id": found.correction_id,
        "slo": "api-availability",
        "from": "2026-11-10T09:40:00Z",
        "to": "2026-11-10T09:45:00Z",
        "reason": "load test",
    }
    batches = read_lake(tmp_path, "ingest_batches")
    assert [
        (
            b["source"],
            b["target_table"],
            b["rows_read"],
            b["rows_written"],
            b["rows_quarantined"],
            b["status"],
        )
        for b in batches
    ] == [("opsledger:corrections", "audit_events", 1, 1, 0, "succeeded")]


def test_the_same_correction_twice_is_recorded_once(tmp_path):
    args = ("api-availability", T0 + 100 * MINUTE, T0 + 105 * MINUTE, "load test")
    first, created = record_correction(tmp_path, *args, "alice")
    again, created_again = record_correction(tmp_path, *args, "bob")
    assert created and not created_again
    assert again == first and again.author == "alice"  # the first record stands
    assert len(read_lake(tmp_path, "audit_events")) == 1
    assert len(read_lake(tmp_path, "ingest_batches")) == 1
    # Another reason for the same range is another correction.
    record_correction(tmp_path, *args[:3], "failover drill", "bob")
    listed = list_lake_corrections(tmp_path, "api-availability")
    assert [(c.reason, c.author) for c in listed] == [("load test", "alice"), ("failover drill", "bob")]
    assert list_lake_corrections(tmp_path, "other") == []


@pytest.mark.parametrize(
    ("start", "end", "reason", "message"),
    [
        (T0, T0, "x", "must be after --from"),
        (T0 + MINUTE, T0, "x", "must be after --from"),
        (T0, T0 + MINUTE, "  ", "--reason must not be empty"),
        (T0.replace(tzinfo=None), T0 + MINUTE, "x", "needs a time zone"),
    ],
)
def test_bad_corrections_fail_in_one_line_and_write_nothing(tmp_path, start, end, reason, message):
    with pytest.raises(OpsledgerError, match=message) as error:
        record_correction(tmp_path, "api-availability", start, end, reason, "alice")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "audit_events").exists()


def state(lake_dir: Path) -> dict:
    con = warehouse(lake_dir)
    return evaluate(con, SLO_SPEC, AT)[0]


def test_sli_and_budget_before_and_after_corrections(tmp_path):
    # Before: 990 good of 1,000 → SLI 0.99; consumed 0.01 / 0.001 = 10 budgets, remaining −9.
    before = state(tmp_path)
    assert (before["good"], before["total"]) == (990, 1000)
    assert before["sli"] == pytest.approx(0.99)
    assert before["error_budget_remaining"] == pytest.approx(-9)
    assert before["status"] == "VIOLATED"

    # Minutes 100–104 excluded: 995 events, 990 good; consumed (5 / 995) / 0.001 = 5.0251…
    record_correction(tmp_path, "api-availability", T0 + 100 * MINUTE, T0 + 105 * MINUTE, "load test", "al")
    partial = state(tmp_path)
    assert (partial["good"], partial["total"]) == (990, 995)
    assert partial["error_budget_remaining"] == pytest.approx(1 - (5 / 995) / 0.001)

    # A range touching part of a minute excludes the whole minute: [105:30, 110:00) drops 105–109.
    record_correction(
        tmp_path,
        "api-availability",
        T0 + 105 * MINUTE + timedelta(seconds=30),
        T0 + 110 * MINUTE,
        "drill",
        "al",
    )
    after = state(tmp_path)
    assert (after["good"], after["total"]) == (990, 990)
    assert after["sli"] == 1.0 and after["error_budget_remaining"] == pytest.approx(1.0)
    assert after["status"] == "HEALTHY"


def test_corrections_of_another_slo_or_source_change_nothing(tmp_path):
    record_correction(tmp_path, "other-slo", T0, T0 + 1000 * MINUTE, "not ours", "al")
    assert state(tmp_path)["total"] == 1000
    # Ours, as a control: minutes 100–104 go.
    record_correction(tmp_path, "api-availability", T0 + 100 * MINUTE, T0 + 105 * MINUTE, "ours", "al")
    assert state(tmp_path)["total"] == 995
    # An application's own audit feed cannot exclude time: same action, other source.
    forged = {
        "ts": T0,
        "actor": "mallory",
        "action": "slo.correction",
        "resource": "api-availability",
        "outcome": "success",
        "source": "app:audit",
        "details": json.dumps({"from": T0.isoformat(), "to": AT.isoformat(), "reason": "x"}),
    }
    rows = [*read_lake(tmp_path, "audit_events"), forged]
    con = warehouse(tmp_path)
    con.register(
        "audit_events", table_from_pydict("audit_events", {k: [r.get(k) for r in rows] for k in rows[0]})
    )
    assert evaluate(con, SLO_SPEC, AT)[0]["total"] == 995


def test_corrections_are_read_once_inside_read_once(tmp_path, monkeypatch):
    from opsledger.slo import corrections

    record_correction(tmp_path, "api-availability", T0 + 100 * MINUTE, T0 + 105 * MINUTE, "ours", "al")
    record_correction(tmp_path, "other-slo", T0, T0 + 10 * MINUTE, "not ours", "al")
    con = warehouse(tmp_path)
    alone = evaluate(con, SLO_SPEC, AT), corrections.list_corrections(con, "other-slo")
    reads = []
    has_table = corrections._has_table
    monkeypatch.setattr(corrections, "_has_table", lambda *args: reads.append(args) or has_table(*args))
    with corrections.read_once(con):
        shared = evaluate(con, SLO_SPEC, AT), corrections.list_corrections(con, "other-slo")
        replay_alerts(con, SLO_SPEC, T0, AT)
    assert len(reads) == 1
    assert shared == alone and shared[0][0]["total"] == 995 and [c.slo for c in shared[1]] == ["other-slo"]


def test_a_corrected_outage_no_longer_pages(tmp_path):
    pages = [a for a in replay_alerts(warehouse(tmp_path), SLO_SPEC, T0, AT) if a["severity"] == "page"]
    assert len(pages) == 1 and pages[0]["start"] <= T0 + 110 * MINUTE
    record_correction(tmp_path, "api-availability", T0 + 100 * MINUTE, T0 + 110 * MINUTE, "load test", "al")
    assert [a for a in replay_alerts(warehouse(tmp_path), SLO_SPEC, T0, AT) if a["severity"] == "page"] == []


def test_sla_counts_corrected_minutes_as_excluded(tmp_path):
    sla = Sla(name="api-sla", slo="api-availability", target_percent=99.9)
    november = 30 * 1440

    def report() -> dict:
        con = warehouse(tmp_path)
        return report_month(con, sla, SLO_SPEC, 2026, 11)

    before = report()
    assert (before["minutes"], before["downtime_minutes"], before["excluded_minutes"]) == (november, 10, 0)
    record_correction(tmp_path, "api-availability", T0 + 100 * MINUTE, T0 + 105 * MINUTE, "load test", "al")
    after = report()
    # Minutes 100–104 excluded, 105–109 still down.
    assert (after["minutes"], after["downtime_minutes"], after["excluded_minutes"]) == (november, 5, 5)
    assert after["uptime"] == pytest.approx((november - 5 - 5) / (november - 5))
    assert [(w["source"], w["reason"]) for w in after["maintenance"]] == [
        ("correction", "SLO correction by al: load test")
    ]
