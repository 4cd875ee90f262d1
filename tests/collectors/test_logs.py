"""JSON-lines log collector: ECS (nested and dotted), structlog, python-json-logger, docker json-file.

Upstream expectations used: filebeat's nginx golden output (ECS documents), the ECS logging spec,
fluent-bit's Docker_Mode goldens (tail ``log/*.log`` -> ``out/*.out``) and its kubernetes
Merge_Log goldens. See tests/data/logs/PROVENANCE.md.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from collectors import logs
from collectors.base import FormatError
from collectors.jsonlines import read_json_records
from opsledger.contract import SCHEMAS

DATA = Path(__file__).parents[1] / "data" / "logs"
DOCKER = DATA / "docker_json_file_fluent-bit"
# fluent-bit tests/runtime/parsers.conf "docker_multiline": (?<log>^{"log":"\d{4}-\d{2}-\d{2}.*)
FIRSTLINE = r"^\d{4}-\d{2}-\d{2}"


def collect(path: Path, **kwargs) -> tuple[list[dict], list, int]:
    """Rows (file order), rejects and accepted count over all chunks."""
    rows, rejects, accepted = [], [], 0
    for chunk in logs.read(path, source="test", **kwargs):
        table = chunk.tables["log_records"]
        assert table.schema.equals(SCHEMAS["log_records"])
        rows += table.to_pylist()
        rejects += chunk.rejects
        accepted += chunk.accepted
    return sorted(rows, key=lambda r: (r["ts"], r["attributes"])), rejects, accepted


def write_lines(path: Path, lines: list[str], newline: str = "\n") -> Path:
    path.write_text("".join(line + newline for line in lines), encoding="utf-8")
    return path


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------- ECS: filebeat's nginx golden


def test_ecs_nginx_golden_documents_map_ts_method_status_and_path(tmp_path):
    docs = json.loads((DATA / "ecs_beats_nginx" / "test.log-expected.json").read_text())
    path = write_lines(tmp_path / "nginx.jsonl", [json.dumps(doc) for doc in docs])

    rows = []
    for chunk in logs.read(path, source="nginx"):
        rows += chunk.tables["log_records"].to_pylist()
        assert chunk.rejects == []
    by_offset = {json.loads(r["attributes"])["log.offset"]: r for r in rows}

    assert len(rows) == len(docs) == 7
    for doc in docs:
        row = by_offset[doc["log.offset"]]
        assert row["ts"] == utc(doc["@timestamp"])
        assert row["http_method"] == doc.get("http.request.method")
        assert row["http_status"] == doc["http.response.status_code"]
        original = doc.get("url.original")
        assert row["url_path"] == (urlsplit(original).path if original else None)
        assert json.loads(row["attributes"]) == doc  # the full original document
        assert row["source"] == "nginx"
    # the golden's last line is nginx's `"" 400` request: no method, no URL
    assert sorted(r["http_status"] for r in rows) == [200, 200, 200, 200, 400, 404, 404]


# ---------------------------------------------------------------- ECS logging spec


def test_ecs_logging_spec_lines(tmp_path):
    spec = json.loads((DATA / "ecs_logging_spec" / "spec.json").read_text())["fields"]
    required = sorted((f for f, v in spec.items() if v["required"]), key=lambda f: spec[f].get("index", 99))
    assert required[:2] == ["@timestamp", "log.level"]
    mvp = {"@timestamp": "2016-05-23T08:05:34.853Z", "log.level": "NOTICE", "ecs.version": "1.4.0"}
    assert set(mvp) == set(required)
    # every optional top-level field of the spec, dotted as ECS loggers write them
    rich = {
        "@timestamp": "2016-05-23T08:05:36.789Z",
        "log.level": " WARN",  # the spec allows padding the level to align messages
        "message": "This is an event with a more elaborate context",
        "ecs.version": "1.4.0",
        "log": {"logger": "MyLogger", "origin": {"file": {"name": "App.java", "line": 42}}},
        "labels": {"app_version": "1.0.42", "tenant_id": "acme"},
        "trace.id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "transaction.id": "00f067aa0ba902b7",
        "service.name": "opbeans",
        "service.version": "1.2.3",
        "service.environment": "production",
        "event.dataset": "opbeans",
        "error.type": "java.lang.NullPointerException",
    }
    assert {f for f in spec if f in rich or f.split(".")[0] in rich} >= {
        "log.logger",
        "trace.id",
        "service.name",
    }
    no_time = {k: v for k, v in mvp.items() if k != "@timestamp"}
    path = write_lines(tmp_path / "ecs.jsonl", [json.dumps(mvp), json.dumps(rich), json.dumps(no_time)])

    rows, rejects, accepted = collect(path)

    assert accepted == 2
    first, second = rows
    assert (first["ts"], first["level"], first["message"]) == (
        utc("2016-05-23T08:05:34.853Z"),
        "notice",
        None,
    )
    assert second["ts"] == utc("2016-05-23T08:05:36.789Z")
    assert second["level"] == "warn"
    assert second["message"] == "This is an event with a more elaborate context"
    assert second["logger"] == "MyLogger"
    assert (second["service"], second["environment"]) == ("opbeans", "production")
    assert second["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert second["correlation_id"] == "00f067aa0ba902b7"
    assert second["tenant_id"] == "acme"
    assert json.loads(second["attributes"])["error.type"] == "java.lang.NullPointerException"
    assert [(r.position, r.reason) for r in rejects] == [("line 3", "field 'ts': missing")]


def test_nested_and_dotted_ecs_give_the_same_row(tmp_path):
    nested = {
        "@timestamp": "2026-10-01T12:00:00.250+02:00",
        "log": {"level": "ERROR", "logger": "shop.http"},
        "message": "upstream failed",
        "service": {"name": "checkout", "environment": "staging"},
        "trace": {"id": "t1"},
        "span": {"id": "s1"},
        "transaction": {"id": "tx1"},
        "user": {"id": "u1"},
        "labels": {"tenant_id": "acme"},
        "http": {"request": {"method": "POST"}, "response": {"status_code": 503}},
        "url": {"original": "https://shop.example/api/orders/7?retry=1"},
        "event": {"duration": 1_500_000},
    }
    dotted = {
        "@timestamp": "2026-10-01T10:00:00.250Z",
        "log.level": "error",
        "log.logger": "shop.http",
        "message": "upstream failed",
        "service.name": "checkout",
        "service.environment": "staging",
        "trace.id": "t1",
        "span.id": "s1",
        "transaction.id": "tx1",
        "user.id": "u1",
        "labels.tenant_id": "acme",
        "http.request.method": "POST",
        "http.response.status_code": 503,
        "url.path": "/api/orders/7",
        "event.duration": 1_500_000,
    }
    path = write_lines(tmp_path / "ecs.jsonl", [json.dumps(nested), json.dumps(dotted)])

    rows, rejects, _ = collect(path)

    assert rejects == []
    columns = [{k: v for k, v in row.items() if k != "attributes"} for row in rows]
    assert columns[0] == columns[1]
    assert columns[0] == {
        "ts": datetime(2026, 10, 1, 10, 0, 0, 250000, tzinfo=UTC),
        "service": "checkout",
        "environment": "staging",
        "level": "error",
        "message": "upstream failed",
        "logger": "shop.http",
        "trace_id": "t1",
        "span_id": "s1",
        "correlation_id": "tx1",
        "user_id": "u1",
        "tenant_id": "acme",
        "http_method": "POST",
        "url_path": "/api/orders/7",
        "http_status": 503,
        "duration_ms": 1.5,  # event.duration is in nanoseconds
        "source": "test",
    }


# ---------------------------------------------------------------- other dialects and aliases


def test_structlog_python_json_logger_and_aliases(tmp_path):
    epoch = datetime(2026, 10, 1, 8, 0, 2, 500000, tzinfo=UTC).timestamp()
    lines = [
        # structlog's JSONRenderer with TimeStamper(fmt="iso")
        '{"event": "user logged in", "level": "info", "logger": "auth",'
        ' "timestamp": "2026-10-01T08:00:00.5Z"}',
        # python-json-logger with "%(asctime)s %(levelname)s %(name)s %(message)s"
        '{"asctime": "2026-10-01 08:00:01,250", "levelname": "WARNING", "name": "app.db", "message": "slow"}',
        # common aliases
        f'{{"ts": {epoch}, "msg": "done", "severity": "DEBUG", "service": "worker", "status": 201,'
        ' "duration_ms": 12.5, "trace_id": "abc", "tenant_id": "globex", "path": "/jobs/1?x=2"}',
        '{"time": "2026-10-01T08:00:03Z", "message": "ms epoch", "env": "prod"}',
    ]
    path = write_lines(tmp_path / "mixed.jsonl", lines)

    rows, rejects, accepted = collect(path)

    assert (accepted, rejects) == (4, [])
    got = [(r["ts"], r["level"], r["message"], r["logger"]) for r in rows]
    assert got == [
        (datetime(2026, 10, 1, 8, 0, 0, 500000, tzinfo=UTC), "info", "user logged in", "auth"),
        (datetime(2026, 10, 1, 8, 0, 1, 250000, tzinfo=UTC), "warning", "slow", "app.db"),
        (datetime(2026, 10, 1, 8, 0, 2, 500000, tzinfo=UTC), "debug", "done", None),
        (datetime(2026, 10, 1, 8, 0, 3, tzinfo=UTC), None, "ms epoch", None),
    ]
    alias = rows[2]
    assert (alias["service"], alias["http_status"], alias["duration_ms"]) == ("worker", 201, 12.5)
    assert (alias["trace_id"], alias["tenant_id"], alias["url_path"]) == ("abc", "globex", "/jobs/1")
    assert rows[3]["environment"] == "prod"


# ---------------------------------------------------------------- docker json-file (fluent-bit goldens)

# fluent-bit tests/runtime/in_tail.c: which tail tests set Docker_Mode_Parser docker_multiline
DOCKER_CASES = {
    "dockermode": None,
    "dockermode_splitted_line": None,
    "dockermode_multiple_lines": FIRSTLINE,
    "dockermode_splitted_multiple_lines": FIRSTLINE,
    "dockermode_firstline_detection": FIRSTLINE,
}
DOCKER_TIME = "2019-04-01T17:58:33.598656444Z"


@pytest.mark.parametrize("case", sorted(DOCKER_CASES))
def test_docker_mode_joins_lines_like_fluent_bit(tmp_path, case):
    inputs = (DOCKER / "log" / f"{case}.log").read_text().splitlines()
    expected = [json.loads(line)["log"] for line in (DOCKER / "out" / f"{case}.out").read_text().splitlines()]
    # docker always writes a time; fluent-bit's fixtures leave it out (the log fragments are untouched)
    timed = [json.dumps({**json.loads(line), "time": DOCKER_TIME}, separators=(",", ":")) for line in inputs]
    path = write_lines(tmp_path / f"{case}.log", timed)

    chunks = list(logs.read(path, source="docker", docker_firstline=DOCKER_CASES[case]))
    rows = [r for c in chunks for r in c.tables["log_records"].to_pylist()]

    assert sorted(json.loads(r["attributes"])["log"] for r in rows) == sorted(expected)
    assert all(r["message"] == json.loads(r["attributes"])["log"].rstrip("\n") for r in rows)
    assert {r["ts"] for r in rows} == {datetime(2019, 4, 1, 17, 58, 33, 598656, tzinfo=UTC)}
    # every input line is accounted for, though joined lines make fewer rows
    assert sum(c.accepted for c in chunks) == len(inputs)
    assert sum(len(c.rejects) for c in chunks) == 0


@pytest.mark.parametrize("block_bytes", [40, 64, 100, 1 << 20])
def test_docker_joining_survives_block_boundaries(tmp_path, block_bytes):
    case = "dockermode_splitted_multiple_lines"
    inputs = (DOCKER / "log" / f"{case}.log").read_text().splitlines()
    expected = [json.loads(line)["log"] for line in (DOCKER / "out" / f"{case}.out").read_text().splitlines()]
    timed = [json.dumps({**json.loads(line), "time": DOCKER_TIME}) for line in inputs]
    path = write_lines(tmp_path / "split.log", timed * 3)

    chunks = list(
        read_json_records(
            path, logs.mapping(FIRSTLINE), source="docker", chunk_rows=1, block_bytes=block_bytes
        )
    )
    rows = [r for c in chunks for r in c.tables["log_records"].to_pylist()]

    assert all(c.tables["log_records"].num_rows <= 1 for c in chunks)
    assert sorted(json.loads(r["attributes"])["log"] for r in rows) == sorted(expected * 3)
    assert sum(c.accepted for c in chunks) == 3 * len(inputs)


def test_docker_lines_after_blocks_without_any_are_still_joined(tmp_path):
    # The docker assembly is skipped for blocks with no docker line; a later block that has some
    # must still get it, and the plain lines before keep their own mapping.
    case = "dockermode_splitted_multiple_lines"
    inputs = (DOCKER / "log" / f"{case}.log").read_text().splitlines()
    expected = [json.loads(line)["log"] for line in (DOCKER / "out" / f"{case}.out").read_text().splitlines()]
    timed = [json.dumps({**json.loads(line), "time": DOCKER_TIME}) for line in inputs]
    plain = [json.dumps({"@timestamp": "2026-10-01T00:00:00Z", "message": f"plain {i}"}) for i in range(40)]
    path = write_lines(tmp_path / "mixed.log", plain + timed)

    chunks = list(read_json_records(path, logs.mapping(FIRSTLINE), source="mixed", block_bytes=512))
    rows = [r for c in chunks for r in c.tables["log_records"].to_pylist()]

    docker = [r for r in rows if r["ts"].year == 2019]
    assert sorted(json.loads(r["attributes"])["log"] for r in docker) == sorted(expected)
    plain_messages = sorted(r["message"] for r in rows if r["ts"].year == 2026)
    assert plain_messages == sorted(f"plain {i}" for i in range(40))
    assert sum(c.accepted for c in chunks) == len(plain) + len(inputs)


def test_docker_and_plain_lines_in_one_block_each_keep_their_document(tmp_path):
    # plain rows take their own line as attributes; the docker row keeps its merged document
    plain = [json.dumps({"@timestamp": "2026-10-01T00:00:00Z", "message": f"plain {i}"}) for i in range(3)]
    docker = {"log": '{"text":"hi"}\n', "stream": "stdout", "time": "2026-10-01T00:00:01Z"}
    path = write_lines(tmp_path / "mixed.log", [*plain, json.dumps(docker), '{"cut": '])

    rows, rejects, accepted = collect(path)

    assert [json.loads(r["attributes"]) for r in rows] == [
        *(json.loads(line) for line in plain),
        {"text": "hi", **docker},  # Merge_Log: the log's keys, then docker's
    ]
    assert [(r.position, r.reason) for r in rejects] == [("line 5", "not valid JSON")]
    assert accepted == 4


def test_docker_fixtures_without_time_are_rejected_line_by_line():
    path = DOCKER / "log" / "dockermode_splitted_line.log"
    lines = path.read_text().splitlines()

    chunks = list(logs.read(path, source="docker"))
    rejects = [r for c in chunks for r in c.rejects]

    assert sum(c.accepted for c in chunks) == 0
    assert [(r.position, r.reason, r.raw) for r in rejects] == [
        (f"line {i}", "field 'ts': missing", line) for i, line in enumerate(lines, 1)
    ]


def one_row(path: Path) -> dict:
    rows, rejects, accepted = collect(path)
    assert (accepted, rejects, len(rows)) == (1, [], 1)
    return rows[0]


def test_docker_log_holding_json_is_merged_like_fluent_bit_merge_log():
    row = one_row(DOCKER / "k8s_container_logs" / "options_merge-log-enabled_json.log")
    # fluent-bit options_merge-log-enabled_json.out:
    # {"log":"{\"text\":\"Simple text\"}\n","stream":"stdout","text":"Simple text",...}
    attributes = json.loads(row["attributes"])
    assert attributes["text"] == "Simple text"
    assert attributes["log"] == '{"text":"Simple text"}\n'
    assert attributes["stream"] == "stdout"
    assert row["message"] == '{"text":"Simple text"}'
    assert row["ts"] == datetime(2019, 4, 1, 17, 58, 33, 598656, tzinfo=UTC)


def test_docker_log_with_invalid_json_is_kept_as_text():
    row = one_row(DOCKER / "k8s_container_logs" / "options_merge-log-enabled_invalid-json.log")
    # fluent-bit options_merge-log-enabled_invalid-json.out: the log stays as is, nothing merged
    attributes = json.loads(row["attributes"])
    assert set(attributes) == {"log", "stream", "time"}
    assert row["message"] == '{"text":"Simple text"]'


def test_docker_log_json_time_and_message_win():
    row = one_row(DOCKER / "k8s_container_logs" / "annotations-parser_json-with-time_json.log")
    # fluent-bit annotations-parser_json-with-time_json.out: [1554476063.584270, {"message":"Simple text"}]
    assert row["message"] == "Simple text"
    assert abs(row["ts"].timestamp() - 1554476063.584270) < 2e-6


def test_docker_unescaping_keeps_text_exact():
    path = DOCKER / "k8s_container_logs" / "core_unescaping_text.log"
    log = json.loads(path.read_text())["log"]
    assert one_row(path)["message"] == log.rstrip("\n")

    path = DOCKER / "k8s_container_logs" / "core_unescaping_json.log"
    inner = json.loads(json.loads(path.read_text())["log"])
    attributes = json.loads(one_row(path)["attributes"])
    assert attributes["stringified-json"] == inner["stringified-json"]
    assert attributes["text"] == inner["text"] == 'quoted "text with embedded quoted \\"text\\""'


# ---------------------------------------------------------------- bad input


def test_bad_lines_are_rejected_with_the_field_and_their_line_number(tmp_path):
    good = '{"@timestamp": "2026-10-01T00:00:00Z", "message": "ok"}'
    content = (
        "\n".join(
            [
                good,  # 1
                "",  # 2 blank: skipped, not counted
                '{"ts": "yesterday", "msg": "a"}',  # 3
                '{"msg": "no time"}',  # 4
                '{"@timestamp": "2026-10-01T00:00:0',  # 5 cut off mid-write
                "[1, 2]",  # 6
                '{"ts": "2026-10-01T00:00:00Z", "http_status": "abc"}',  # 7
                '{"ts": "2026-10-01T00:00:00Z", "duration_ms": "fast"}',  # 8
                "   ",  # 9 blank
                good,  # 10
            ]
        ).encode()
        + b'\n{"ts": "2026-10-01T00:00:00Z", "msg": "caf\xe9"}\n'  # 11: Latin-1, not UTF-8
    )
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)

    rows, rejects, accepted = collect(path)

    assert accepted == len(rows) == 2
    assert sorted((r.position, r.reason) for r in rejects) == sorted(
        [
            ("line 3", "field 'ts': not a timestamp ('yesterday')"),
            ("line 4", "field 'ts': missing"),
            ("line 5", "not valid JSON"),
            ("line 6", "not a JSON object"),
            ("line 7", "field 'http_status': not an integer ('abc')"),
            ("line 8", "field 'duration_ms': not a number ('fast')"),
            ("line 11", "not valid UTF-8"),
        ]
    )
    raw = {r.position: r.raw for r in rejects}
    assert raw["line 5"] == '{"@timestamp": "2026-10-01T00:00:0'
    assert raw["line 11"] == '{"ts": "2026-10-01T00:00:00Z", "msg": "caf\\xe9"}'


@pytest.mark.parametrize("content", [b"hello world\nthis is text\n", gzip.compress(b'{"a": 1}\n' * 100)])
def test_a_file_that_is_not_json_lines_is_a_format_error(tmp_path, content):
    path = tmp_path / "not.jsonl"
    path.write_bytes(content)
    with pytest.raises(FormatError) as error:
        list(logs.read(path, source="x"))
    assert str(error.value).startswith(f"{path}: not JSON lines")
    assert "\n" not in str(error.value)


def test_crlf_bom_and_last_line_without_newline(tmp_path):
    lines = ['{"ts": "2026-10-01T00:00:00Z", "msg": "a"}', '{"ts": "2026-10-01T00:00:01Z", "msg": "b"}']
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())

    rows, rejects, accepted = collect(path)

    assert (accepted, rejects) == (2, [])
    assert [r["attributes"] for r in rows] == lines
    assert [r["message"] for r in rows] == ["a", "b"]


def test_large_file_streams_in_bounded_chunks_and_accounts_for_every_line(tmp_path):
    lines = []
    for i in range(5000):
        if i % 97 == 0:
            lines.append('{"ts": "not a time", "msg": "bad"}')
        elif i % 101 == 0:
            lines.append('{"ts": "2026-10-01T00:00:00Z", "msg": "cut')
        else:
            lines.append(
                json.dumps({"@timestamp": f"2026-10-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z", "n": i})
            )
    path = write_lines(tmp_path / "big.jsonl", lines)
    bad = sum(1 for i in range(5000) if i % 97 == 0 or i % 101 == 0)

    chunks = list(read_json_records(path, logs.mapping(), source="big", chunk_rows=300, block_bytes=8192))

    assert all(c.rows_read <= 300 for c in chunks)
    assert sum(c.rows_read for c in chunks) == 5000
    assert sum(len(c.rejects) for c in chunks) == bad
    rows = [r for c in chunks for r in c.tables["log_records"].to_pylist()]
    numbers = sorted(json.loads(r["attributes"])["n"] for r in rows)
    assert numbers == [i for i in range(5000) if i % 97 and i % 101]
    # each row holds its own line (block buffers are reused once no row refers to them)
    assert all(r["ts"] == utc(json.loads(r["attributes"])["@timestamp"]) for r in rows)


def test_a_block_with_many_bad_lines_keeps_every_good_one(tmp_path):
    # A few rejects are cut out of a block's rows by slicing, many by a filter: both keep the rest.
    lines = [
        json.dumps({"ts": "never" if i % 3 == 0 else "2026-10-01T00:00:00Z", "n": i}) for i in range(1200)
    ]
    path = write_lines(tmp_path / "bad.jsonl", lines)

    rows, rejects, accepted = collect(path)

    assert sorted(json.loads(r["attributes"])["n"] for r in rows) == [i for i in range(1200) if i % 3]
    assert sorted(int(r.position.split()[1]) for r in rejects) == [i + 1 for i in range(0, 1200, 3)]
    assert accepted + len(rejects) == 1200


def test_a_line_longer_than_any_log_line_is_a_format_error(tmp_path, monkeypatch):
    monkeypatch.setattr("collectors.jsonlines.MAX_LINE_BYTES", 4096)
    path = tmp_path / "blob.jsonl"
    path.write_bytes(b'{"ts": "2026-10-01T00:00:00Z"}\n' + b"x" * 20_000)
    with pytest.raises(FormatError, match="line 2 is longer than"):
        list(read_json_records(path, logs.mapping(), source="x", block_bytes=1024))
