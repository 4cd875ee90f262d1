"""`opsledger slo correct|corrections|events` and a grouped SLO in `opsledger slo status`, on a
small warehouse of hand-written ECS log lines (every expected number is counted in the comments)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from opsledger.cli import main
from opsledger.settings import Settings

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
AT = (T0 + timedelta(hours=1)).isoformat()


def spec(name: str, window: str, annotations: str = "") -> str:
    """An OpenSLO spec over log_records: requests answered without a 5xx."""
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}{annotations}
spec:
  service: api
  budgetingMethod: Occurrences
  timeWindow:
    - duration: {window}
      isRolling: true
  objectives:
    - targetPercent: 99
  indicator:
    metadata:
      name: requests-without-5xx
    spec:
      ratioMetric:
        good:
          metricSource:
            type: SQL
            spec: {{table: log_records, filter: "http_status < 500"}}
        total:
          metricSource:
            type: SQL
            spec: {{table: log_records, filter: "http_status is not null"}}
"""


def line(minute: int, service: str, status: int, tenant: str | None = None, start: datetime = T0) -> str:
    ts = (start + timedelta(minutes=minute, seconds=10)).isoformat().replace("+00:00", "Z")
    record = {
        "@timestamp": ts,
        "message": "request",
        "service.name": service,
        "http.response.status_code": status,
    }
    return json.dumps(record | ({"tenant.id": tenant} if tenant else {}))


def home_with(tmp_path, monkeypatch, slo_spec: str, config: str, lines: list[str]) -> Settings:
    """An OPSLEDGER_HOME with one SLO spec and ``config``, the ``lines`` ingested."""
    home = tmp_path / "home"
    (home / "slos").mkdir(parents=True)
    (home / "slos" / "slo.yaml").write_text(slo_spec, encoding="utf-8")
    (home / "opsledger.yaml").write_text(config, encoding="utf-8")
    logs = tmp_path / "requests.jsonl"
    logs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("OPSLEDGER_HOME", str(home))
    monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
    ok(run("ingest", "log_records", str(logs)))
    return Settings(home=home)


# api/acme: minutes 0–9, 503 in minutes 3 and 4 → 8 good of 10.
# api/globex: minutes 0–4, all 200 → 5 of 5.
# web/initech: minutes 0–3, 500 in minute 2 → 3 of 4.
LINES = (
    [line(m, "api", 503 if m in (3, 4) else 200, "acme") for m in range(10)]
    + [line(m, "api", 200, "globex") for m in range(5)]
    + [line(m, "web", 500 if m == 2 else 200, "initech") for m in range(4)]
)
GROUPED = "\n  annotations:\n    opsledger.io/group-by: service,tenant_id"


@pytest.fixture
def small(tmp_path, monkeypatch) -> Settings:
    slo = spec("requests-per-tenant", "1d", GROUPED)
    settings = home_with(tmp_path, monkeypatch, slo, "slos:\n  specs: [slos]\n", LINES)
    ok(run("build"))
    return settings


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def status() -> dict[str, dict]:
    rows = json.loads(ok(run("slo", "status", "--at", AT, "--format", "json")))
    return {r["group"]: r for r in rows}


def test_a_grouped_slo_has_one_instance_per_group(small):
    rows = status()
    assert sorted(rows) == ["api,acme", "api,globex", "web,initech"]
    acme, globex, initech = rows["api,acme"], rows["api,globex"], rows["web,initech"]
    assert {r["name"] for r in rows.values()} == {"requests-per-tenant"}
    assert (acme["good"], acme["total"], acme["sli"]) == (8, 10, pytest.approx(0.8))
    # consumed = (1 − 0.8) / 0.01 = 20 budgets → remaining −19.
    assert acme["error_budget_remaining"] == pytest.approx(-19)
    assert acme["status"] == "VIOLATED"
    assert (globex["good"], globex["total"], globex["status"]) == (5, 5, "HEALTHY")
    assert globex["error_budget_remaining"] == pytest.approx(1)
    assert (initech["good"], initech["total"], initech["sli"]) == (3, 4, pytest.approx(0.75))
    # acme's window held 10 events: its budget (0.1 events) was gone with the first 503 (minute 3).
    assert acme["budget_exhausted_at"] == (T0 + timedelta(minutes=3)).isoformat()
    assert globex["budget_exhausted_at"] is None


def test_a_correction_is_applied_listed_and_idempotent(small):
    args = ["slo", "correct", "requests-per-tenant", "--from", (T0 + timedelta(minutes=3)).isoformat()]
    args += ["--to", (T0 + timedelta(minutes=5)).isoformat(), "--reason", "upstream DNS outage"]
    first = ok(run(*args, "--author", "alice"))
    assert first.startswith("recorded correction") and "by alice" in first
    again = ok(run(*args, "--author", "bob"))
    assert "already recorded by alice" in again and "nothing written" in again

    listed = json.loads(ok(run("slo", "corrections", "requests-per-tenant", "--format", "json")))
    assert [(c["slo"], c["reason"], c["author"]) for c in listed] == [
        ("requests-per-tenant", "upstream DNS outage", "alice")
    ]
    assert listed[0]["start"] == (T0 + timedelta(minutes=3)).isoformat()

    # Minutes 3 and 4 are gone from every group: acme 8 of 8, globex 3 of 3, initech 2 of 3.
    rows = status()
    assert (rows["api,acme"]["good"], rows["api,acme"]["total"], rows["api,acme"]["status"]) == (
        8,
        8,
        "HEALTHY",
    )
    assert (rows["api,globex"]["good"], rows["api,globex"]["total"]) == (3, 3)
    assert (rows["web,initech"]["good"], rows["web,initech"]["total"]) == (2, 3)

    # The correction is stamped when it was recorded (now), yet the default instant is still the
    # minute after the newest log line (minute 9): a correction is not data.
    default = json.loads(ok(run("slo", "status", "--format", "json")))
    assert {r["at"] for r in default} == {(T0 + timedelta(minutes=10)).isoformat()}

    # The audit event is in the warehouse after a build, one row however often it was asked for.
    ok(run("build"))
    audit = json.loads(
        ok(run("sql", "select actor, action, resource, source from audit_events", "--format", "json"))
    )
    assert audit == [
        {
            "actor": "alice",
            "action": "slo.correction",
            "resource": "requests-per-tenant",
            "source": "opsledger:corrections",
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["no-such-slo", "--from", "2026-10-05T12:00Z", "--to", "2026-10-05T13:00Z", "--reason", "x"],
            "no SLO named",
        ),
        (
            [
                "requests-per-tenant",
                "--from",
                "2026-10-05T13:00Z",
                "--to",
                "2026-10-05T12:00Z",
                "--reason",
                "x",
            ],
            "after",
        ),
        (
            [
                "requests-per-tenant",
                "--from",
                "2026-10-05T12:00Z",
                "--to",
                "2026-10-05T13:00Z",
                "--reason",
                " ",
            ],
            "reason",
        ),
        (
            ["requests-per-tenant", "--from", "yesterday", "--to", "2026-10-05T13:00Z", "--reason", "x"],
            "ISO 8601",
        ),
    ],
)
def test_bad_corrections_are_one_line_errors(small, args, message):
    result = run("slo", "correct", *args)
    assert result.exit_code != 0
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert json.loads(ok(run("slo", "corrections", "--format", "json"))) == []


def test_events_lists_the_policy_events(small):
    rows = json.loads(ok(run("slo", "events", "requests-per-tenant", "--to", AT, "--format", "json")))
    # acme: the 503s of minutes 3–4 are one incident of 2 bad events, and exhaust its budget at
    # minute 3; initech's 500 of minute 2 likewise. globex never fails.
    by = {(r["group"], r["event"]): r for r in rows}
    assert set(by) == {
        ("api,acme", "budget_exhausted"),
        ("api,acme", "incident_over_20pct"),
        ("web,initech", "budget_exhausted"),
        ("web,initech", "incident_over_20pct"),
    }
    incident = by[("api,acme", "incident_over_20pct")]
    assert (incident["start"], incident["end"], incident["bad"]) == (
        (T0 + timedelta(minutes=3)).isoformat(),
        (T0 + timedelta(minutes=5)).isoformat(),
        2,
    )
    # The data is younger than the 1-day window, so the incident is judged on all of acme's data:
    # 10 events, budget 0.01 × 10 = 0.1 — the 2 bad events are 2,000 % of it.
    assert incident["budget"] == pytest.approx(0.1)
    assert incident["budget_share"] == pytest.approx(20)
    exhausted = by[("api,acme", "budget_exhausted")]
    # At 12:04 the window holds 4 events (budget 0.04) and the first 503: exhausted, never recovered.
    assert (exhausted["start"], exhausted["end"]) == ((T0 + timedelta(minutes=3)).isoformat(), None)


SLAS = """\
slos:
  specs: [slos]
slas:
  - name: api-sla
    slo: api-slices
    target_percent: 99
    maintenance:
      - {start: "2026-11-10T01:00:00Z", end: "2026-11-10T02:00:00Z", reason: patching%s}
"""


def test_sla_report_json_labels_corrections_and_config_cannot_claim_the_label(tmp_path, monkeypatch):
    # Ten requests, minutes 0–9 of 10 November; minute 3 fails.
    start = datetime(2026, 11, 10, tzinfo=UTC)
    lines = [line(m, "api", 503 if m == 3 else 200, start=start) for m in range(10)]
    home = home_with(tmp_path, monkeypatch, spec("api-slices", "30d"), SLAS % "", lines).home_dir
    correct = ["--from", "2026-11-10T00:03:00Z", "--to", "2026-11-10T00:04:00Z", "--author", "alice"]
    ok(run("slo", "correct", "api-slices", *correct, "--reason", "bad deploy rolled back"))
    ok(run("build"))
    (row,) = json.loads(ok(run("sla", "report", "--month", "2026-11", "--format", "json")))
    assert [(w["source"], w["reason"]) for w in row["maintenance"]] == [
        ("config", "patching"),
        ("correction", "SLO correction by alice: bad deploy rolled back"),
    ]
    assert (row["excluded_minutes"], row["downtime_minutes"]) == (61, 0)

    (home / "opsledger.yaml").write_text(SLAS % ", source: correction", encoding="utf-8")
    refused = run("sla", "report", "--month", "2026-11", "--format", "json")
    assert refused.exit_code == 1
    assert refused.output.endswith(
        "opsledger.yaml:8: slas[0].maintenance[0].source: Extra inputs are not permitted\n"
    )
