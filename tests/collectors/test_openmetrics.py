"""OpenMetrics / Prometheus text collector and strict validator.

Upstream expectations used: the OpenMetrics conformance suite (shouldParse per case), the
prometheus/common expfmt fuzz corpus (from_test_parse_N valid, from_test_parse_error_N invalid),
prometheus/prometheus textparse test data, node_exporter's e2e outputs and its textfile fixtures
with the ``.out`` exposition node_exporter produced from them. Values asserted below were read off
those files by hand.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors import openmetrics
from collectors.base import FormatError
from collectors.openmetrics_strict import parse_strict

DATA = Path(__file__).parents[1] / "data" / "metrics"
CONFORMANCE = DATA / "openmetrics_conformance" / "parsers"
FUZZ = DATA / "prometheus_common_expfmt" / "fuzz_corpus"
TEXTPARSE = DATA / "prometheus_textparse"
NODE = DATA / "node_exporter"
OBSERVED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

CASES = sorted(p.name for p in CONFORMANCE.iterdir())
SHOULD_PARSE = {
    case: json.loads((CONFORMANCE / case / "test.json").read_text())["shouldParse"] for case in CASES
}


def collect(path: Path, **kwargs):
    kwargs.setdefault("observed_at", OBSERVED)
    chunks = list(openmetrics.read(path, source="test", **kwargs))
    rows = [row for chunk in chunks for row in chunk.tables["metric_samples"].to_pylist()]
    for row in rows:
        row["labels"] = dict(row["labels"])
    return rows, [reject for chunk in chunks for reject in chunk.rejects], chunks


def write(tmp_path: Path, content: str | bytes, name: str = "metrics.prom") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def comparable(rows: list[dict]) -> list[dict]:
    """Rows with NaN values made equal to each other, for comparing two reads."""
    return [{**row, "value": "NaN" if math.isnan(row["value"]) else row["value"]} for row in rows]


def find(rows: list[dict], metric: str, **labels: str) -> dict:
    matches = [row for row in rows if row["metric"] == metric and row["labels"] == labels]
    assert len(matches) == 1, (metric, labels, len(matches))
    return matches[0]


def ms(milliseconds: int) -> datetime:
    return EPOCH + timedelta(milliseconds=milliseconds)


# --- OpenMetrics conformance suite -------------------------------------------------------------


def test_the_whole_conformance_suite_is_here():
    assert len(CASES) == 211
    assert sum(SHOULD_PARSE.values()) == 44


@pytest.mark.parametrize("case", CASES)
def test_parse_strict_accepts_exactly_the_valid_conformance_cases(case):
    text = (CONFORMANCE / case / "metrics").read_bytes().decode("utf-8")
    if SHOULD_PARSE[case]:
        parse_strict(text)
    else:
        with pytest.raises(ValueError, match=r"^line \d+: \S"):
            parse_strict(text)


@pytest.mark.parametrize("case", [case for case in CASES if SHOULD_PARSE[case]])
def test_read_stores_every_sample_of_a_valid_conformance_case(case):
    samples = parse_strict((CONFORMANCE / case / "metrics").read_bytes().decode("utf-8"))
    try:
        rows, rejects, _ = collect(CONFORMANCE / case / "metrics")
    except FormatError:
        assert samples == [], "only metadata-only cases may be refused as 'no samples'"
        return
    # The one valid timestamp no warehouse can hold (year ~4e11) is the only reject.
    expected_rejects = ["line 6"] if case == "timestamps" else []
    assert [r.position for r in rejects] == expected_rejects
    stored = [(r["metric"], r["labels"], str(r["value"])) for r in rows]
    kept = [s for s in samples if not (case == "timestamps" and s.labels == {"foo": "4"})]
    assert stored == [(s.name, s.labels, str(float(s.value))) for s in kept]


def test_openmetrics_escapes_and_exemplars():
    rows, rejects, _ = collect(CONFORMANCE / "escaping" / "metrics")
    assert rejects == []
    # \" \n \\ are unescaped; an unknown escape (\z) is kept as written, as the suite expects.
    assert [r["labels"]["foo"] for r in rows] == ['b"a\nr', "b\\a\\z", 'b"a\nr # ', "b\\a\\z # "]
    assert [r["value"] for r in rows] == [1.0, 2.0, 3.0, 4.0]

    rows, _, _ = collect(CONFORMANCE / "hash_in_label_value" / "metrics")
    assert [r["labels"]["foo"] for r in rows] == ["foo # bar", "} foo # bar # "]

    rows, _, _ = collect(CONFORMANCE / "counter_exemplars" / "metrics")
    assert rows == [
        {
            "ts": EPOCH + timedelta(seconds=123),
            "metric": "a_total",
            "labels": {},
            "value": 0.0,
            "source": "test",
        }
    ]  # the exemplar {a="b"} 0.5 is validated and dropped

    rows, _, _ = collect(CONFORMANCE / "exemplars_with_hash_in_label_values" / "metrics")
    assert [(r["labels"]["le"], r["value"]) for r in rows] == [("1.0", 0.0), ("2.0", 2.0), ("+Inf", 3.0)]


def test_openmetrics_timestamps_are_seconds():
    rows, rejects, _ = collect(CONFORMANCE / "timestamps" / "metrics")
    by_foo = {r["labels"].get("foo", r["metric"]): r["ts"] for r in rows}
    assert by_foo == {
        "1": EPOCH,
        "2": EPOCH,
        "3": EPOCH + timedelta(seconds=1, microseconds=100_000),
        "5": EPOCH + timedelta(seconds=1500),
        "b_total": datetime(2009, 2, 13, 23, 31, 30, tzinfo=UTC),
    }
    assert len(rejects) == 1 and "outside the years 1-9999" in rejects[0].reason
    assert rejects[0].raw == 'a_total{foo="4"} 1 12345678901234567890.1234567890'


def test_openmetrics_special_values():
    rows, _, _ = collect(CONFORMANCE / "labels_and_infinite" / "metrics")
    assert [(r["labels"]["foo"], r["value"]) for r in rows] == [("bar", math.inf), ("baz", -math.inf)]
    rows, _, _ = collect(CONFORMANCE / "nan" / "metrics")
    assert math.isnan(rows[0]["value"])
    rows, _, _ = collect(CONFORMANCE / "uint64_counter" / "metrics")
    assert rows[0]["value"] == 9223372036854775808.0
    rows, _, _ = collect(CONFORMANCE / "labels_with_curly_braces" / "metrics")
    assert rows[0]["labels"] == {"foo": "bar", "bar": "b{a}z"}


def test_parse_strict_returns_samples_with_seconds_and_exemplars():
    samples = parse_strict((CONFORMANCE / "gaugehistogram_exemplars" / "metrics").read_text())
    assert [(s.name, s.labels, s.value, s.timestamp) for s in samples] == [
        ("a_bucket", {"le": "1.0"}, 0.0, 123.0),
        ("a_bucket", {"le": "2.0"}, 2.0, 123.0),
        ("a_bucket", {"le": "+Inf"}, 3.0, 123.0),
    ]
    assert samples[2].exemplar.labels == {"a": "d"} and samples[2].exemplar.timestamp == 123.0


# --- prometheus/common expfmt fuzz corpus (Prometheus text format 0.0.4) -----------------------


@pytest.mark.parametrize("name", [f"from_test_parse_error_{n}" for n in range(20)])
def test_parse_strict_rejects_every_expfmt_error_case(name):
    with pytest.raises(ValueError, match=r"^line \d+: "):
        parse_strict((FUZZ / name).read_text(), fmt="prometheus")


# What read() quarantines for each invalid file: (position, part of the reason).
EXPFMT_REJECTS = {
    0: [("line 1", "line: no line feed at the end of the file")],
    1: [("line 1", "label 'label': invalid escape sequence '\\\\t'")],
    2: [("line 2", "label 'label': value has no closing quote"), ("line 3", "metric name")],
    3: [("line 1", "labels: expected a label name, found '@'")],
    4: [("line 1", "label '__name__': reserved")],
    5: [("line 1", "label 'label': expected '='")],
    6: [("line 1", "label 'label': value must be in double quotes")],
    7: [("line 3", "label 'quantile': not a number ('bla')")],
    8: [("line 1", "label 'label': expected ',' or '}'")],
    9: [("line 1", "timestamp: not an integer number of milliseconds ('2.72')")],
    10: [("line 1", "unexpected text after the timestamp ('3')")],
    11: [("line 1", "value: not a number ('blubb')")],
    17: [("line 1", "metric name: must start with a letter")],
    18: [("line 1", "metric name: must start with a letter")],
    19: [("line 3", "label 'le': not a number ('bla')")],
}


@pytest.mark.parametrize("number", sorted(EXPFMT_REJECTS))
def test_read_quarantines_the_bad_line_of_each_expfmt_error_case(number):
    path = FUZZ / f"from_test_parse_error_{number}"
    rows, rejects, chunks = collect(path)
    assert rows == []
    expected = EXPFMT_REJECTS[number]
    assert [
        (r.position, r.reason[: len(reason)]) for r, (_, reason) in zip(rejects, expected, strict=True)
    ] == expected
    lines = path.read_text().split("\n")
    assert [r.raw for r in rejects] == [lines[int(r.position.split()[1]) - 1] for r in rejects]
    assert sum(c.rows_read for c in chunks) == len(EXPFMT_REJECTS[number])


def test_read_on_expfmt_metadata_errors_keeps_the_samples():
    # Repeated HELP/TYPE, unknown type: no sample line is wrong, so nothing is lost or quarantined.
    for number in (12, 13, 15):
        assert collect(FUZZ / f"from_test_parse_error_{number}")[:2] == ([], [])
    rows, rejects, _ = collect(FUZZ / "from_test_parse_error_14")  # TYPE after the sample
    assert [(r["metric"], r["value"]) for r in rows] == [("metric", 4.12)] and rejects == []
    assert collect(FUZZ / "from_test_parse_error_16")[:2] == ([], [])  # only "# TYPE met-ric"


def test_expfmt_valid_cases():
    for name, count in [("from_test_parse_1", 3), ("from_test_parse_2", 4), ("from_test_parse_3", 12)]:
        assert len(parse_strict((FUZZ / name).read_text(), fmt="prometheus")) == count
        assert len(collect(FUZZ / name)[0]) == count

    rows, _, _ = collect(FUZZ / "from_test_parse_1")
    assert find(rows, "minimal_metric")["value"] == 1.234 and find(rows, "minimal_metric")["ts"] == OBSERVED
    assert (find(rows, "another_metric")["value"], find(rows, "another_metric")["ts"]) == (
        -3000.0,
        ms(103948),
    )
    assert find(rows, "no_labels")["value"] == 3.0

    rows, _, _ = collect(FUZZ / "from_test_parse_2")
    assert math.isnan(find(rows, "name", labelname="val1", basename="basevalue")["value"])
    odd = find(rows, "name", labelname="val2", basename='base"v\\al\nue')
    assert (odd["value"], odd["ts"]) == (0.23, ms(1234567890))
    assert (find(rows, "name2", labelname="val2", basename="basevalue2")["ts"]) == ms(54321)
    assert find(rows, "name2", labelname="val1")["value"] == -math.inf  # "{ labelname = "val1" , }-Inf"

    rows, _, _ = collect(FUZZ / "from_test_parse_3")
    assert (find(rows, "decoy")["value"], find(rows, "decoy")["ts"]) == (-1.0, ms(-2))
    assert find(rows, "my_summary_sum", n1="val2")["value"] == 8.0  # written "08"
    assert math.isnan(find(rows, "my_summary", n1="val1", n2="val2", quantile="-12.34")["value"])

    rows, _, _ = collect(FUZZ / "from_test_parse_4")
    assert find(rows, "request_duration_microseconds_bucket", le="172.8")["value"] == 1524.0
    assert find(rows, "request_duration_microseconds_sum")["value"] == 1756047.3

    with pytest.raises(FormatError, match="empty"):
        collect(FUZZ / "from_test_parse_0")  # two blank lines


# --- real exporter output ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "fmt", "count"),
    [
        ("prometheus_common_expfmt/prometheus_selfscrape_text.prom", "prometheus", 248),
        ("prometheus_textparse/alltypes.237mfs.prom.txt", "prometheus", 1857),
        ("prometheus_textparse/1histogram.om.txt", "openmetrics", 42),
        ("node_exporter/e2e-output.txt", "prometheus", 3027),
        ("node_exporter/e2e-output-darwin.txt", "prometheus", 103),
    ],
)
def test_exporter_output_reads_completely(relative, fmt, count):
    path = DATA / relative
    # split("\n"), not splitlines(): a label value in e2e-output.txt holds a \x1c control character.
    sample_lines = [line for line in path.read_text().split("\n") if line and not line.startswith("#")]
    rows, rejects, _ = collect(path)
    assert (len(sample_lines), len(rows), rejects) == (count, count, [])
    assert len(parse_strict(path.read_text(), fmt=fmt)) == count
    if fmt == "prometheus":
        assert {row["ts"] for row in rows} == {OBSERVED}  # no sample carries its own timestamp


def test_exporter_output_values():
    rows, _, _ = collect(DATA / "prometheus_common_expfmt" / "prometheus_selfscrape_text.prom")
    assert find(rows, "http_requests_total", code="200", handler="prometheus", method="get")["value"] == 119
    assert find(rows, "prometheus_local_storage_ingested_samples_total")["value"] == 30473

    rows, _, _ = collect(TEXTPARSE / "alltypes.237mfs.prom.txt")
    assert find(rows, "go_gc_duration_seconds", quantile="0.5")["value"] == 0.000135819
    group = "/etc/prometheus/rules/ansible_managed.rules;ansible managed alert rules"
    assert find(rows, "prometheus_rule_evaluation_failures_total", rule_group=group)["value"] == 0
    assert find(rows, "go_gc_heap_allocs_by_size_bytes_bucket", le="+Inf")["value"] == 4.4046288803e10

    rows, _, _ = collect(TEXTPARSE / "1histogram.om.txt")
    labels = {"address": "0.0.0.0", "generation": "20", "port": "5001"}
    assert find(rows, "golang_manual_histogram_seconds_bucket", **labels, le="10.0")["value"] == 1
    assert find(rows, "golang_manual_histogram_seconds_sum", **labels)["value"] == 10.0

    rows, _, _ = collect(NODE / "e2e-output.txt")
    assert find(rows, "node_load1")["value"] == 0.21
    assert find(rows, "node_memory_MemTotal_bytes")["value"] == 3.831959552e09
    assert find(rows, "node_boot_time_seconds")["value"] == 1.418183276e09


def test_go_client_openmetrics_with_exemplars_and_negative_buckets():
    path = TEXTPARSE / "alltypes.5mfs.om.txt"
    rows, rejects, _ = collect(path)
    assert (len(rows), rejects) == (53, [])
    bucket = find(rows, "rpc_durations_histogram_seconds_bucket", le="-0.0002899999999999998")
    assert bucket["value"] == 3  # its exemplar {dummyID="17783"} is not a row
    assert (
        find(rows, "promhttp_metric_handler_errors_created", cause="encoding")["value"]
        == 1.726839813016397e09
    )
    # Real client_golang output, yet not OpenMetrics 1.0: a _sum next to negative buckets is negative.
    with pytest.raises(ValueError, match="line 33: value: _sum samples cannot be negative"):
        parse_strict(path.read_text())


# Not compared: client_side_timestamp (node_exporter refuses timestamps), metrics_merge_different_help
# (it drops b.prom over the HELP conflict) and summary_extra_dimension (client_golang regroups it
# and invents _sum/_count samples) - node_exporter behaviour, not the text format.
NODE_FIXTURES = [
    "different_metric_types",
    "histogram",
    "histogram_extra_dimension",
    "inconsistent_metrics",
    "metrics_merge_empty_help",
    "metrics_merge_no_help",
    "metrics_merge_same_help",
    "summary",
    "two_metric_files",
]


def _points(paths) -> list[tuple]:
    points = []
    for path in paths:
        for row in collect(path)[0]:
            # node_exporter fills labels missing on some series with "" (= absent in Prometheus).
            labels = tuple(sorted((k, v) for k, v in row["labels"].items() if v))
            if not row["metric"].startswith("node_textfile_"):
                points.append((row["metric"], labels, row["value"]))
    return sorted(points)


@pytest.mark.parametrize("fixture", NODE_FIXTURES)
def test_node_exporter_textfile_inputs_give_the_samples_of_its_output(fixture):
    inputs = sorted((NODE / "textfile" / fixture).glob("*.prom"))
    assert inputs
    assert _points(inputs) == _points([NODE / "textfile" / f"{fixture}.out"])


def test_prometheus_timestamps_are_milliseconds():
    rows, _, _ = collect(NODE / "textfile" / "client_side_timestamp" / "metrics.prom")
    assert find(rows, "metric_with_custom_timestamp")["ts"] == datetime(
        2015, 9, 2, 14, 59, 37, 284000, tzinfo=UTC
    )
    assert find(rows, "normal_metric")["ts"] == OBSERVED


# --- behaviour on our own inputs ---------------------------------------------------------------


def test_counter_resets_are_stored_raw(tmp_path):
    path = write(
        tmp_path,
        "# TYPE http_requests counter\n"
        'http_requests_total{service="checkout"} 10 1790812800\n'
        'http_requests_total{service="checkout"} 25 1790812815\n'
        'http_requests_total{service="checkout"} 3 1790812830\n'
        'http_requests_total{service="checkout"} 7 1790812845\n'
        "# EOF\n",
    )
    rows, rejects, _ = collect(path)
    assert [r["value"] for r in rows] == [10, 25, 3, 7] and rejects == []
    assert [r["ts"] for r in rows] == [datetime(2026, 10, 1, 0, 0, s, tzinfo=UTC) for s in (0, 15, 30, 45)]


def test_format_detection_sets_the_timestamp_unit(tmp_path):
    line = 'up{service="checkout"} 1 1790812800\n'
    assert collect(write(tmp_path, line, "a.prom"))[0][0]["ts"] == ms(1790812800)
    openmetrics_texts = [
        line + "# EOF\n",  # the end marker
        "# TYPE up_seconds gauge\n# UNIT up_seconds seconds\n" + line.replace("up", "up_seconds"),
        "# TYPE http_requests counter\n" + line.replace("up", "http_requests_total"),  # OM counter naming
        "# TYPE up stateset\n" + line,
    ]
    for index, text in enumerate(openmetrics_texts):
        rows = collect(write(tmp_path, text, f"{index}.om"))[0]
        assert rows[0]["ts"] == datetime(2026, 10, 1, tzinfo=UTC), text


def test_fractional_seconds_keep_microseconds(tmp_path):
    text = "".join(f"a {i} 1790812800.{frac}\n" for i, frac in enumerate(["000001", "123456", "999999", "5"]))
    rows, _, _ = collect(write(tmp_path, text + "# EOF\n"))
    micros = [(r["ts"] - datetime(2026, 10, 1, tzinfo=UTC)) // timedelta(microseconds=1) for r in rows]
    assert micros == [1, 123456, 999999, 500000]


def test_observed_at_defaults_to_the_file_mtime(tmp_path):
    path = write(tmp_path, "a 1\nb 2 1000\n")
    os.utime(path, ns=(1_790_812_800_123_456_000, 1_790_812_800_123_456_000))
    rows = list(openmetrics.read(path, source="s"))[0].tables["metric_samples"].to_pylist()
    assert [r["ts"] for r in rows] == [datetime(2026, 10, 1, 0, 0, 0, 123456, tzinfo=UTC), ms(1000)]
    assert {r["source"] for r in rows} == {"s"}


def test_lenient_read_rejects_lines_it_cannot_interpret(tmp_path):
    text = (
        "# TYPE h histogram\n# TYPE s summary\n"
        'h_bucket{le="+Inf"} 3\n'
        "h_bucket 3\n"
        'h_bucket{le="x"} 3\n'
        's{quantile="0.5"} 1\n'
        's{quantile="p50"} 1\n'
        'dup{a="1",a="2"} 1\n'
        "far 1 9999999999999999\n"
        "last 1"
    )
    rows, rejects, chunks = collect(write(tmp_path, text))
    assert [(r["metric"], r["labels"]) for r in rows] == [
        ("h_bucket", {"le": "+Inf"}),
        ("s", {"quantile": "0.5"}),
    ]
    assert [(r.position, r.reason) for r in rejects] == [
        ("line 4", "label 'le': missing on a histogram sample"),
        ("line 5", "label 'le': not a number ('x')"),
        ("line 7", "label 'quantile': not a number ('p50')"),
        ("line 8", "label 'a': duplicate label name"),
        ("line 9", "timestamp: 9999999999999999 is outside the years 1-9999"),
        ("line 10", "line: no line feed at the end of the file (truncated write?)"),
    ]
    assert sum(c.rows_read for c in chunks) == 8


def test_samples_after_eof_are_rejected(tmp_path):
    rows, rejects, _ = collect(write(tmp_path, "a 1\n# EOF\nb 2\n"))
    assert [r["metric"] for r in rows] == ["a"]
    assert [(r.position, r.raw) for r in rejects] == [("line 3", "b 2")] and "after '# EOF'" in rejects[
        0
    ].reason


def test_a_bad_byte_rejects_one_line_only(tmp_path):
    good = "".join(f'a{{i="{i}"}} {i}\n' for i in range(30))
    rows, rejects, _ = collect(write(tmp_path, good.encode() + b"b\xff\xfe 2\nc 3\n"))
    assert len(rows) == 31 and rows[-1]["metric"] == "c"
    assert [(r.position, r.reason) for r in rejects] == [("line 31", "line: not valid UTF-8")]


def test_crlf_line_ends_read_like_lf(tmp_path):
    text = (NODE / "textfile" / "summary" / "metrics.prom").read_text()
    crlf = collect(write(tmp_path, text.replace("\n", "\r\n"), "crlf.prom"))
    assert crlf[0] == collect(write(tmp_path, text, "lf.prom"))[0] and crlf[1] == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"\n  \n\t\n", "empty"),
        (gzip.compress(b"a 1\n" * 100), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "not UTF-8"),
        (b'{"metric": "a", "value": 1}\n', "JSON"),
        (b"[1, 2, 3]\n", "JSON"),
        (b"<!DOCTYPE html>\n<html><body>503</body></html>\n", "HTML"),
        ((NODE / "textfile" / "no_metric_files" / "non_matching_file.txt").read_bytes(), "no metric samples"),
        (b"# just a comment\n# and another\n", "no metric samples"),
    ],
)
def test_files_that_are_not_metrics_text_raise_format_error(tmp_path, content, problem):
    path = write(tmp_path, content, "input.txt")
    with pytest.raises(FormatError, match=problem) as error:
        list(openmetrics.read(path, source="s"))
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_chunks_respect_chunk_rows_and_account_for_every_line(tmp_path):
    lines = [f'm{{i="{i}"}} {i}' if i % 4 else f"m{{i={i}}} {i}" for i in range(1, 26)]
    path = write(tmp_path, "# TYPE m gauge\n" + "\n".join(lines) + "\n")
    rows, rejects, chunks = collect(path, chunk_rows=3)
    assert [c.rows_read for c in chunks] == [3] * 8 + [1]
    assert all(c.tables["metric_samples"].num_rows == c.accepted for c in chunks)
    assert [r.position for r in rejects] == [f"line {i + 1}" for i in (4, 8, 12, 16, 20, 24)]
    assert [r["value"] for r in rows] == [i for i in range(1, 26) if i % 4]
    assert collect(path, chunk_rows=1000)[:2] == (rows, rejects)


def test_chunking_large_real_file(tmp_path):
    rows, _, chunks = collect(TEXTPARSE / "alltypes.237mfs.prom.txt", chunk_rows=100)
    assert [c.rows_read for c in chunks] == [100] * 18 + [57]
    assert comparable(rows) == comparable(collect(TEXTPARSE / "alltypes.237mfs.prom.txt")[0])


EDGE_CASES = (
    "# HELP edge Lines that exercise both paths.\n# TYPE h histogram\n# TYPE s summary\n"
    'a{x="1",y="two words, {braces} # and = signs"} 1.5e3 1790812800.5\n'
    "a NaN\na +Inf 1790812800\na -Inf -1.25\na .5 1.7908128e9\na 1. +1790812800\n"
    'b{z="é \\"quoted\\" \\\\ \\n"} 2\n'
    'b{__name__="x"} 1\nb{q="1",q="2"} 1\nb 1 99999999999999\nb 1 1e400\nb 0x1\nbig 1e400\n'
    'h_bucket{le="0.5"} 1\nh_bucket{a="1"} 1\ns{quantile="0.9"} 2\ns{quantile="z"} 2\n'
    '  spaced  2\ntabbed\t3\t1790812800\nd{a="1",} 4\n'
)
EXEMPLAR = 'c_total 1 1790812800 # {trace="abc"} 0.5 1790812800\n'  # also marks a file as OpenMetrics


@pytest.mark.parametrize("openmetrics_file", [True, False])
@pytest.mark.parametrize(
    "source",
    [
        "edge",
        "prometheus_textparse/alltypes.5mfs.om.txt",
        "prometheus_textparse/alltypes.237mfs.prom.txt",
        "prometheus_common_expfmt/fuzz_corpus/from_test_parse_2",
        "prometheus_common_expfmt/fuzz_corpus/from_test_parse_3",
        "openmetrics_conformance/parsers/escaping/metrics",
        "openmetrics_conformance/parsers/timestamps/metrics",
    ],
)
def test_vectorized_path_agrees_with_the_per_line_parser(tmp_path, monkeypatch, source, openmetrics_file):
    text = EDGE_CASES if source == "edge" else (DATA / source).read_text()
    if openmetrics_file and not text.rstrip().endswith("# EOF"):
        text += (EXEMPLAR if source == "edge" else "") + "# EOF\n"
    path = write(tmp_path, text)
    fast = collect(path)
    never = "^(?P<name>)(?P<labels>)(?P<value>)(?P<ts>)never matches$"
    monkeypatch.setattr(openmetrics, "_FAST", {True: never, False: never})
    slow = collect(path)
    assert comparable(fast[0]) == comparable(slow[0])
    assert fast[1] == slow[1]
    assert fast[0], "the file must give rows to compare"
    if source == "edge":
        assert (len(fast[0]), len(fast[1])) == ((11, 10) if openmetrics_file else (11, 9))


def test_block_boundaries_do_not_change_the_result(tmp_path, monkeypatch):
    text = "".join(
        f'http_requests_total{{service="s{i % 7}",code="200"}} {i} {1790812800 + i}.5\n' for i in range(3000)
    )
    path = write(tmp_path, text + "bad line here\n" + text.replace("http", "rpc") + "# EOF\n")
    whole = collect(path, chunk_rows=1000)
    monkeypatch.setattr(openmetrics, "BLOCK_BYTES", 997)
    pieces = collect(path, chunk_rows=1000)
    assert (comparable(whole[0]), whole[1]) == (comparable(pieces[0]), pieces[1])
    assert len(whole[0]) == 6000 and [r.position for r in whole[1]] == ["line 3001"]
    assert [c.rows_read for c in pieces[2]] == [1000] * 6 + [1]


@pytest.mark.parametrize("seed", range(40))
def test_every_sample_line_is_a_row_or_a_reject(tmp_path, seed):
    # Random line soup from the characters that matter to the grammar (seeded, so reproducible).
    rng = random.Random(seed)
    alphabet = ' \t{}",=#\\_:.-+e019aInfN\r'
    lines = ["".join(rng.choices(alphabet, k=rng.randint(0, 24))) for _ in range(rng.randint(0, 30))]
    text = "up 1\n" + "\n".join(lines) + ("\n# EOF\n" if seed % 2 else "\n")
    records = [
        line for line in text.split("\n") if line.strip(" \t\r") and not line.strip(" \t\r").startswith("#")
    ]
    chunk_rows = rng.randint(1, 7)
    chunks = list(
        openmetrics.read(write(tmp_path, text), source="s", chunk_rows=chunk_rows, observed_at=OBSERVED)
    )
    assert all(0 < c.rows_read <= chunk_rows for c in chunks)
    assert all(c.tables["metric_samples"].num_rows == c.accepted for c in chunks)
    assert sum(c.rows_read for c in chunks) == len(records)
    positions = [int(r.position.split()[1]) for c in chunks for r in c.rejects]
    assert positions == sorted(set(positions))
