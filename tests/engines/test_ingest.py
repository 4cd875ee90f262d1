"""The ingest runner and the lake: accounting, idempotent re-runs, atomic failure.

The collector here is a tiny stand-in that reads `ts,metric,value` lines, so these tests pin
the runner's own guarantees independently of any real format (the real collectors have their
own tests on real files)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from collectors.base import Chunk, FormatError, Reject
from opsledger import ingest, lake
from opsledger.contract import table_from_pydict
from opsledger.errors import OpsledgerError


def _csv_collector(path, *, source, chunk_rows=2, observed_at=None, fail_after=None):
    lines = path.read_text().splitlines()
    if lines and lines[0] == "not metrics":
        raise FormatError(path, "not a metrics file")
    for start in range(0, len(lines), chunk_rows):
        if fail_after is not None and start >= fail_after:
            raise RuntimeError("disk on fire")
        chunk = Chunk()
        good = {"ts": [], "metric": [], "value": [], "source": []}
        for number, line in enumerate(lines[start : start + chunk_rows], start=start + 1):
            ts, metric, value = line.split(",")
            try:
                good["value"].append(float(value))
            except ValueError:
                chunk.rejects.append(
                    Reject(f"line {number}", f"field 'value': not a number ({value!r})", line)
                )
                continue
            good["ts"].append(datetime.fromisoformat(ts))
            good["metric"].append(metric)
            good["source"].append(source)
            chunk.accepted += 1
        chunk.tables["metric_samples"] = table_from_pydict("metric_samples", good)
        yield chunk


@pytest.fixture
def collector(monkeypatch):
    state = {"fail_after": None}
    monkeypatch.setattr(
        ingest,
        "reader_for",
        lambda kind: lambda p, **kw: _csv_collector(p, fail_after=state["fail_after"], **kw),
    )
    return state


def _count(lake_dir, table, where="true"):
    if not lake.has_files(lake_dir, table):
        return 0
    con = duckdb.connect()
    return con.execute(
        f"select count(*) from read_parquet(?) where {where}", [lake.table_glob(lake_dir, table)]
    ).fetchall()[0][0]


def _write(path, rows):
    path.write_text("\n".join(rows) + "\n")
    return path


ROWS = [
    "2026-10-01T10:00:00+00:00,up,1",
    "2026-10-01T23:59:59+00:00,up,1",
    "2026-10-02T00:00:00+00:00,up,0",
    "2026-10-02T00:01:00+00:00,up,oops",
    "2026-10-03T12:00:00+00:00,up,1",
]


def test_rows_land_in_daily_partitions_and_every_record_is_accounted(tmp_path, collector):
    lake_dir = tmp_path / "lake"
    result = ingest.ingest_file(lake_dir, "metric_samples", _write(tmp_path / "a.csv", ROWS), source="a")
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (5, 4, 1)
    assert result.rows_per_table == {"metric_samples": 4}
    days = sorted(p.name for p in (lake_dir / "metric_samples").iterdir())
    assert days == ["date=2026-10-01", "date=2026-10-02", "date=2026-10-03"]
    assert _count(lake_dir, "metric_samples", "ts < '2026-10-02'") == 2
    con = duckdb.connect()
    reason, position, raw = con.execute(
        "select reason, position, raw from read_parquet(?)", [lake.table_glob(lake_dir, "quarantine")]
    ).fetchall()[0]
    assert (reason, position, raw) == ("field 'value': not a number ('oops')", "line 4", ROWS[3])
    batch = con.execute(
        "select rows_read, rows_written, rows_quarantined, watermark, status from read_parquet(?)",
        [lake.table_glob(lake_dir, "ingest_batches")],
    ).fetchall()
    assert batch == [(5, 4, 1, datetime(2026, 10, 3, 12, tzinfo=UTC), "succeeded")]


def test_reingesting_the_same_source_changes_no_count(tmp_path, collector):
    lake_dir = tmp_path / "lake"
    path = _write(tmp_path / "a.csv", ROWS)
    ingest.ingest_file(lake_dir, "metric_samples", path, source="a")
    ingest.ingest_file(lake_dir, "metric_samples", path, source="a")
    assert _count(lake_dir, "metric_samples") == 4
    assert _count(lake_dir, "quarantine") == 1
    assert _count(lake_dir, "ingest_batches") == 2  # the batch log keeps every run


def test_a_source_that_shrinks_leaves_no_stale_partition(tmp_path, collector):
    lake_dir = tmp_path / "lake"
    path = _write(tmp_path / "a.csv", ROWS)
    ingest.ingest_file(lake_dir, "metric_samples", path, source="a")
    _write(path, ROWS[:2])
    ingest.ingest_file(lake_dir, "metric_samples", path, source="a")
    assert _count(lake_dir, "metric_samples") == 2
    assert _count(lake_dir, "quarantine") == 0


def test_other_sources_in_the_same_partition_are_kept(tmp_path, collector):
    lake_dir = tmp_path / "lake"
    ingest.ingest_file(lake_dir, "metric_samples", _write(tmp_path / "a.csv", ROWS[:2]), source="a")
    ingest.ingest_file(lake_dir, "metric_samples", _write(tmp_path / "b.csv", ROWS[:1]), source="b")
    ingest.ingest_file(lake_dir, "metric_samples", tmp_path / "a.csv", source="a")
    assert _count(lake_dir, "metric_samples", "source = 'a'") == 2
    assert _count(lake_dir, "metric_samples", "source = 'b'") == 1


def test_a_crash_mid_file_leaves_the_previous_state_intact(tmp_path, collector):
    lake_dir = tmp_path / "lake"
    path = _write(tmp_path / "a.csv", ROWS)
    ingest.ingest_file(lake_dir, "metric_samples", path, source="a")
    before = sorted(
        (p.relative_to(lake_dir), p.read_bytes())
        for p in lake_dir.rglob("*.parquet")
        if "batches" not in str(p)
    )
    _write(path, ROWS + ["2026-10-04T00:00:00+00:00,up,1"] * 4)
    collector["fail_after"] = 4
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest.ingest_file(lake_dir, "metric_samples", path, source="a")
    after = sorted(
        (p.relative_to(lake_dir), p.read_bytes())
        for p in lake_dir.rglob("*.parquet")
        if "batches" not in str(p)
    )
    assert after == before
    assert not list(lake_dir.rglob("*.tmp"))
    con = duckdb.connect()
    failed = con.execute(
        "select rows_read, rows_written, rows_quarantined, error from read_parquet(?) "
        "where status = 'failed'",
        [lake.table_glob(lake_dir, "ingest_batches")],
    ).fetchall()
    assert len(failed) == 1 and failed[0][:3] == (0, 0, 0)
    assert "disk on fire" in failed[0][3] and "nothing stored" in failed[0][3]


def test_a_file_of_the_wrong_format_is_one_clear_error(tmp_path, collector):
    path = _write(tmp_path / "notes.txt", ["not metrics", "hello"])
    with pytest.raises(OpsledgerError) as info:
        ingest.ingest_file(tmp_path / "lake", "metric_samples", path, source="n")
    assert str(info.value).startswith(f"{path}: not a metrics file")
    assert _count(tmp_path / "lake", "metric_samples") == 0


def test_missing_files_and_unknown_tables_are_user_errors(tmp_path):
    with pytest.raises(OpsledgerError, match="no such file"):
        ingest.ingest_file(tmp_path / "lake", "metric_samples", tmp_path / "nope.om")
    with pytest.raises(OpsledgerError, match="unknown table 'logs'"):
        ingest.ingest_file(tmp_path / "lake", "logs", tmp_path / "nope.om")
    with pytest.raises(OpsledgerError, match="no such file or folder"):
        ingest.expand([str(tmp_path / "*.om")])


def test_a_bad_file_does_not_stop_the_other_files_of_its_day(tmp_path, collector):
    from datetime import date

    from opsledger.config import load_config

    (tmp_path / "m").mkdir()
    _write(tmp_path / "m" / "2026-10-01-a.csv", ["not metrics"])
    _write(tmp_path / "m" / "2026-10-01-b.csv", ROWS[:2])
    (tmp_path / "opsledger.yaml").write_text(
        "sources:\n  - {name: m, kind: metric_samples, path: 'm/{date}-*.csv'}\n"
    )
    config = load_config(tmp_path / "opsledger.yaml")
    with pytest.raises(OpsledgerError, match="2026-10-01-a.csv: not a metrics file"):
        ingest.ingest_day(tmp_path / "lake", config, "metric_samples", date(2026, 10, 1))
    assert _count(tmp_path / "lake", "metric_samples", "source = 'm:m/2026-10-01-b.csv'") == 2
