"""The live Elasticsearch collector over HTTP against noida-db seeded with the demo's documents.

The reference is the file path: the same demo files ingested with the file collectors must give
the same lake rows. Faults that need a misbehaving server (503 then recovery, a slow answer,
checking the credentials sent) go through a tiny HTTP proxy on 127.0.0.1 that forwards to the
real server: a protocol-boundary test, not a mock.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from datetime import timedelta

import pyarrow.dataset as ds
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch, helpers

from collectors import elasticsearch_live
from collectors.elasticsearch_live import ElasticsearchSettings
from deploy.live.stack import INDICES, json_documents, seed
from opsledger import watermarks
from opsledger.errors import OpsledgerError
from opsledger.ingest import ingest_file
from opsledger.live_events import collect_events
from opsledger.settings import Settings

from ..fault_proxy import ELASTICSEARCH, fault_proxies

SOURCE = "elasticsearch:demo"
JSON_COLUMNS = {"attributes", "details", "properties"}
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
PASSWORD = "pw-7c1e94d0b5a24f39"


def target(table: str, **extra) -> dict:
    index, _, time_field, tiebreak = INDICES[table]
    return {"table": table, "index": index, "time_field": time_field, "tiebreak_field": tiebreak, **extra}


def settings_for(url: str, targets=None, **extra) -> ElasticsearchSettings:
    targets = targets or [target(t) for t in INDICES]
    fast = {"retries": 1, "backoff_s": 0.01, "backoff_max_s": 5, "timeout_s": 10}
    return ElasticsearchSettings(name="demo", url=url, targets=targets, **{**fast, **extra})


def lake_rows(home: Settings, table: str) -> list[dict]:
    folder = home.lake_dir / table
    if not folder.exists():
        return []
    rows = ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()
    for row in rows:
        row.pop("source", None)
        row.pop("date", None)
        # the server may re-serialize _source (noida-db sorts keys): compare JSON by value
        for column in JSON_COLUMNS & row.keys():
            row[column] = json.loads(row[column]) if row[column] is not None else None
    return rows


def canonical(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def batches(home: Settings) -> list[dict]:
    folder = home.lake_dir / "ingest_batches"
    if not folder.exists():
        return []
    rows = ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()
    return sorted(rows, key=lambda r: r["batch_id"])


def parquet_files(home: Settings) -> list[str]:
    return sorted(
        str(p.relative_to(home.lake_dir)) for p in home.lake_dir.rglob("*.parquet") if "batches" not in str(p)
    )


def test_collects_the_same_rows_as_the_file_collectors(home, search_server, demo_dir, demo_range, tmp_path):
    start, end = demo_range
    es = settings_for(search_server.url, page_size=250)
    results = collect_events(home, es, start, end)

    files = Settings(home=tmp_path / "files")
    for table, (_, folder, _, _) in INDICES.items():
        for path in sorted((demo_dir / folder).glob("*.jsonl")):
            ingest_file(files.lake_dir, table, path, source=f"file:{path.name}")

    for table in INDICES:
        collected = lake_rows(home, table)
        assert len(collected) == search_server.seeded[table], table
        assert canonical(collected) == canonical(lake_rows(files, table)), table
    by_table = {r.table: r for r in results}
    assert by_table["log_records"].rows_written == search_server.seeded["log_records"] > 9000
    assert all(len(r.batches) == 2 and r.rows_quarantined == 0 for r in results)

    # A sample checked field by field against the raw documents, not through the mapping.
    raw = [d for d in json_documents(demo_dir / "logs" / "2026-10-02.jsonl") if "http" in d][:20]
    logs = {
        (r["ts"].isoformat(timespec="milliseconds"), r["trace_id"]): r for r in lake_rows(home, "log_records")
    }
    for doc in raw:
        row = logs[(doc["@timestamp"].replace("Z", "+00:00"), doc["trace"]["id"])]
        assert row["service"] == doc["service"]["name"] and row["message"] == doc["message"]
        assert row["http_status"] == doc["http"]["response"]["status_code"]
        assert row["url_path"] == doc["url"]["path"] and row["level"] == doc["log"]["level"]
    audit = list(json_documents(demo_dir / "audit" / "2026-10-01.jsonl"))[5]
    [row] = [
        r
        for r in lake_rows(home, "audit_events")
        if r["session_id"] == audit["session_id"]
        and r["action"] == audit["action"]
        and r["ts"].isoformat(timespec="milliseconds") == audit["ts"].replace("Z", "+00:00")
    ]
    assert (row["actor"], row["outcome"], row["source_ip"]) == (
        audit["actor"],
        audit["outcome"],
        audit["source_ip"],
    )

    assert all(b["status"] == "succeeded" for b in batches(home)) and len(batches(home)) == 6
    assert all(b["rows_read"] == b["rows_written"] + b["rows_quarantined"] for b in batches(home))
    for table in INDICES:
        assert watermarks.get(home.home_dir, SOURCE, table) == end

    before = {t: canonical(lake_rows(home, t)) for t in INDICES}
    files_before = parquet_files(home)
    again = collect_events(home, es, start, end)
    assert [r.rows_written for r in again] == [r.rows_written for r in results]
    assert {t: canonical(lake_rows(home, t)) for t in INDICES} == before
    assert parquet_files(home) == files_before


def _index(url: str, index: str, docs: list[dict]) -> None:
    with Elasticsearch(url) as es:
        helpers.bulk(es, ({"_index": index, "_source": d} for d in docs), refresh=True)


@pytest.mark.parametrize("point_in_time", [True, False])
def test_documents_sharing_a_sort_key_across_pages_are_each_collected_once(
    home, search_server, demo_range, monkeypatch, point_in_time
):
    start, _ = demo_range
    index = f"ties-{point_in_time}".lower()
    # 25 events in the same millisecond, the tiebreak taking only 3 values (groups of 9, 8 and 8
    # equal sort keys): at page size 10 a group straddles every page boundary
    docs = [
        {
            "timestamp": "2026-10-01T10:00:00.000Z",
            "distinct_id": f"u{i}",
            "event": "click",
            "kind": f"k{i % 3}",
        }
        for i in range(25)
    ] + [
        {"timestamp": f"2026-10-01T11:00:{i:02d}.000Z", "distinct_id": f"v{i}", "event": "view", "kind": "k"}
        for i in range(7)
    ]
    _index(search_server.url, index, docs)
    if not point_in_time:
        monkeypatch.setattr(elasticsearch_live, "_open_pit", lambda *args: None)
    tie = {
        "table": "product_events",
        "index": index,
        "time_field": "timestamp",
        "tiebreak_field": "kind.keyword",
    }
    es = settings_for(search_server.url, [tie], page_size=10)
    [result] = collect_events(home, es, start, start + timedelta(days=1))
    ids = sorted(r["distinct_id"] for r in lake_rows(home, "product_events"))
    assert ids == sorted(d["distinct_id"] for d in docs)
    assert result.rows_written == 32


def test_more_equal_sort_keys_than_a_page_without_point_in_time_is_a_clear_error(
    home, search_server, demo_range, monkeypatch
):
    start, _ = demo_range
    docs = [
        {"timestamp": "2026-10-01T10:00:00.000Z", "distinct_id": f"u{i}", "event": "e", "kind": "same"}
        for i in range(6)
    ]
    _index(search_server.url, "ties-one-key", docs)
    monkeypatch.setattr(elasticsearch_live, "_open_pit", lambda *args: None)
    tie = {
        "table": "product_events",
        "index": "ties-one-key",
        "time_field": "timestamp",
        "tiebreak_field": "kind.keyword",
    }
    with pytest.raises(OpsledgerError, match="more than page_size=4 documents share the sort key"):
        collect_events(
            home, settings_for(search_server.url, [tie], page_size=4), start, start + timedelta(days=1)
        )
    assert watermarks.get(home.home_dir, SOURCE, "product_events") is None
    assert lake_rows(home, "product_events") == []


def test_field_map_override_fills_columns_from_other_fields(home, search_server, demo_range):
    start, _ = demo_range
    docs = [
        {
            "when": "2026-10-01T08:00:00Z",
            "app": {"name": "billing"},
            "message": "a",
            "service": {"name": "ignored"},
        },
        {"when": "2026-10-01T09:00:00Z", "app.name": "search", "message": "b"},
    ]
    _index(search_server.url, "custom-logs", docs)
    custom = {
        "table": "log_records",
        "index": "custom-logs",
        "time_field": "when",
        "tiebreak_field": "message.keyword",
        "field_map": {"ts": "when", "service": "app.name"},
    }
    collect_events(home, settings_for(search_server.url, [custom]), start, start + timedelta(days=1))
    rows = sorted(lake_rows(home, "log_records"), key=lambda r: r["message"])
    assert [(r["message"], r["service"], r["ts"].hour) for r in rows] == [
        ("a", "billing", 8),
        ("b", "search", 9),
    ]


def test_server_down_at_start_is_one_clear_error(home, demo_range):
    start, end = demo_range
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(OpsledgerError) as failure:
        collect_events(home, settings_for(url, retries=2), start, end)
    message = str(failure.value)
    assert message.startswith(f"{SOURCE}: log_records from 'logs-demo' at {url} for [2026-10-01T00:00:00Z")
    assert "Connection refused" in message and "gave up after 3 attempt(s)" in message
    assert watermarks.get(home.home_dir, SOURCE, "log_records") is None
    assert lake_rows(home, "log_records") == []
    [batch] = batches(home)
    assert batch["status"] == "failed" and "Connection refused" in batch["error"]


def test_server_killed_mid_collection_keeps_previous_data_and_rerun_completes(
    home, start_search_server, demo_dir, demo_range
):
    start, end = demo_range
    server = start_search_server()
    seeded = seed(server.url, demo_dir, ["audit_events"])["audit_events"]
    es = settings_for(server.url, [target("audit_events")], page_size=10)
    second_day = start + timedelta(days=1)
    collect_events(home, es, start, second_day)
    day_one = canonical(lake_rows(home, "audit_events"))
    assert day_one

    def kill_during_day_two(table, day, read):
        if day == second_day.date():
            server.kill()

    with pytest.raises(OpsledgerError, match="connection failed") as failure:
        collect_events(home, es, start, end, progress=kill_during_day_two)
    assert "for [2026-10-02T00:00:00Z, 2026-10-03T00:00:00Z)" in str(failure.value)
    assert canonical(lake_rows(home, "audit_events")) == day_one
    assert not list(home.lake_dir.glob("audit_events/date=2026-10-02/*"))
    assert watermarks.get(home.home_dir, SOURCE, "audit_events") == second_day
    assert batches(home)[-1]["status"] == "failed"

    start_search_server(server)  # the same data dir, after the crash
    with Elasticsearch(server.url) as check:
        # noida-db loses an index written since its last clean stop when it is killed
        if not check.indices.exists(index="audit-demo") or check.count(index="audit-demo")["count"] != seeded:
            check.options(ignore_status=404).indices.delete(index="audit-demo")
            seed(server.url, demo_dir, ["audit_events"])
    [resumed] = collect_events(home, es, end=end)
    assert len(resumed.batches) == 1
    rows = canonical(lake_rows(home, "audit_events"))
    assert len(rows) == len(set(rows)) == seeded
    assert watermarks.get(home.home_dir, SOURCE, "audit_events") == end


@pytest.fixture
def proxy(search_server):
    with fault_proxies(search_server.url, ELASTICSEARCH) as make:
        yield make


def test_503_then_recovery_completes_after_honouring_retry_after(
    home, search_server, proxy, demo_range, caplog
):
    start, _ = demo_range
    end = start + timedelta(days=1)
    server = proxy(fail_first=1)
    es = settings_for(server.url, [target("audit_events")], retries=3, page_size=20)
    [result] = collect_events(home, es, start, end)
    assert server.seen[1].at - server.seen[0].at >= 1.0  # Retry-After: 1
    assert "HTTP 503" in caplog.text and "retry 1 of 3" in caplog.text
    # noida-db has point in time: the walk opened one and searched through it
    assert "POST /audit-demo/_pit?keep_alive=2m" in [seen.request for seen in server.seen]
    direct = Settings(home=home.home_dir.parent / "direct")
    collect_events(direct, settings_for(search_server.url, [target("audit_events")]), start, end)
    assert canonical(lake_rows(home, "audit_events")) == canonical(lake_rows(direct, "audit_events"))
    assert result.rows_written == len(lake_rows(direct, "audit_events")) > 0
    assert watermarks.get(home.home_dir, SOURCE, "audit_events") == end


def test_slow_response_beyond_the_timeout_is_a_clear_error(home, proxy, demo_range):
    start, end = demo_range
    server = proxy(delay_s=3)
    began = time.monotonic()
    with pytest.raises(OpsledgerError) as failure:
        collect_events(home, settings_for(server.url, timeout_s=0.3, retries=1), start, end)
    assert time.monotonic() - began < 2.5
    message = str(failure.value)
    assert "no answer within 0.3 s (timeout)" in message and "gave up after 2 attempt(s)" in message
    assert server.url in message and SOURCE in message
    assert watermarks.get(home.home_dir, SOURCE, "log_records") is None
    assert lake_rows(home, "log_records") == []


def test_credentials_are_sent_but_never_logged_or_in_errors(home, proxy, demo_range, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    start, _ = demo_range
    end = start + timedelta(days=1)
    monkeypatch.setenv("ES_TEST_API_KEY", API_KEY)
    monkeypatch.setenv("ES_TEST_USER", "collector")
    monkeypatch.setenv("ES_TEST_PASSWORD", PASSWORD)
    audit = [target("audit_events")]
    basic = {"username_env": "ES_TEST_USER", "password_env": "ES_TEST_PASSWORD"}

    ok = proxy(auth=f"ApiKey {API_KEY}")
    [result] = collect_events(home, settings_for(ok.url, audit, api_key_env="ES_TEST_API_KEY"), start, end)
    assert result.rows_written > 0 and ok.seen[0].auth == f"ApiKey {API_KEY}"

    token = base64.b64encode(f"collector:{PASSWORD}".encode()).decode()
    echoing = proxy(auth=f"Basic {token}", fail_first=10)
    with pytest.raises(OpsledgerError) as overloaded:
        collect_events(home, settings_for(echoing.url, audit, **basic), start, end)
    assert "HTTP 503" in str(overloaded.value) and "Basic ***" in str(overloaded.value)

    monkeypatch.setenv("ES_TEST_API_KEY", "wrong-key-value")
    seen = len(ok.seen)
    with pytest.raises(OpsledgerError, match="HTTP 401.*credentials"):
        collect_events(
            home, settings_for(ok.url, audit, api_key_env="ES_TEST_API_KEY", retries=3), start, end
        )
    assert len(ok.seen) == seen + 1  # opening the point in time was refused once: 401 is not retried

    errors = " ".join(str(b["error"]) for b in batches(home))
    for text in (str(overloaded.value), caplog.text, errors):
        for secret in (API_KEY, PASSWORD, token, "wrong-key-value"):
            assert secret not in text
    assert "HTTP 503" in caplog.text


def test_cli_command_collects_into_the_warehouse(home, search_server):
    from opsledger import warehouse
    from opsledger.cli_collect import collect

    path = home.home_dir / "elasticsearch.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    events = target("product_events")
    path.write_text(json.dumps({"name": "demo", "url": search_server.url, "targets": [events]}))
    args = ["elasticsearch", "--start", "2026-10-01", "--end", "2026-10-03T00:00Z"]
    result = CliRunner().invoke(collect, args)
    assert result.exit_code == 0, result.output
    expected = search_server.seeded["product_events"]
    assert "product_events: 2 day(s)" in result.output and f"{expected} rows stored" in result.output
    con = warehouse.connect(home.warehouse_path)
    try:
        assert con.sql("select count(*) from product_events").fetchall() == [(expected,)]
    finally:
        con.close()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"url": "http://user:pw@127.0.0.1:9200"}, "credentials do not belong in the URL"),
        ({"username_env": "U"}, "both username_env and password_env"),
        ({"targets": [target("log_records", tiebreak_field="_id")]}, "name a real field"),
        ({"targets": [target("log_records", field_map={"colour": "x"})]}, "no column 'colour'"),
        ({"targets": [target("log_records"), target("log_records")]}, "one target per table"),
    ],
)
def test_settings_reject_unsafe_or_impossible_values(change, problem):
    with pytest.raises(ValueError, match=problem):
        ElasticsearchSettings.model_validate(
            {"name": "x", "url": "http://127.0.0.1:9200", "targets": [target("log_records")]} | change
        )
