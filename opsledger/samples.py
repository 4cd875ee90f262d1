"""The commented sample ``opsledger.yaml`` written by ``opsledger init``, and the demo's config."""

from __future__ import annotations

from datetime import date

SAMPLE_CONFIG = """\
# opsledger.yaml — what opsledger collects and computes.
# Paths are relative to this file. Secrets never go here: live sources (later) name the
# environment variables that hold them.

# First day of the daily partitions (Dagster backfills start here).
partitions_start: 2026-01-01

# Tenants: every row can carry a tenant_id; dashboards filter by the viewer's tenant.
tenants:
  - id: acme
    name: Acme Retail
  - id: globex
    name: Globex

# File sources. kind is the table family a collector fills:
#   metric_samples  OpenMetrics / Prometheus text exposition
#   log_records     JSON lines: ECS, structlog, python-json-logger, docker json-file
#   audit_events    JSON lines of audit events, or Kubernetes audit events
#   directory       LDIF snapshots of the directory (users, groups, memberships)
#   test_results    Playwright JSON reports and JUnit XML (auto-detected)
#   product_events  JSON lines in PostHog's export shape
# path is a glob; {date} stands for the partition day (YYYY-MM-DD), so daily files
# map onto daily partitions.
sources:
  - name: app-metrics
    kind: metric_samples
    path: data/metrics/{date}.om
  - name: app-logs
    kind: log_records
    path: data/logs/{date}/*.jsonl
  - name: audit
    kind: audit_events
    path: data/audit/{date}.jsonl
  - name: ldap-snapshot
    kind: directory
    path: data/directory/{date}.ldif
  - name: ci-reports
    kind: test_results
    path: data/test-results/{date}/*
  - name: product
    kind: product_events
    path: data/events/{date}.jsonl

# SLOs: folders or files of OpenSLO v1 specs (kind: SLO).
slos:
  specs: []

# SLAs: a contract on a configured SLO's SLI, reported per calendar month in time_zone
# (`opsledger sla report --month YYYY-MM`). A minute is downtime when its SLI is below the
# target (target: 0.999, or target_percent: 99.9); a minute without traffic is not downtime.
# uptime = (minutes - downtime - excluded) / (minutes - excluded), and the credit is the
# largest credit_percent among the tiers whose `below` (a percent) is above the uptime.
# Maintenance is excluded: windows listed here (times without an offset are in time_zone)
# and, with maintenance_from_audit, audit events maintenance.start / maintenance.end whose
# resource is the SLO's service (a start without an end runs to the end of the month).
slas: []
#  - name: payments-monthly
#    slo: payments-availability
#    time_zone: Europe/Berlin
#    target_percent: 99.9
#    credit_tiers:
#      - {below: 99.9, credit_percent: 10}
#      - {below: 99.0, credit_percent: 25}
#      - {below: 95.0, credit_percent: 100}
#    maintenance:
#      - {start: 2026-10-04T02:00:00, end: 2026-10-04T03:00:00, reason: database upgrade}
#    maintenance_from_audit: true
#    down_below: 0.95          # a minute is down when more than 5 % of its requests fail

# Funnels (PostHog semantics): steps are events (optionally {event, properties}); window from
# the step-1 time, inclusive (s, m, h, d, w; M = 30 days); mode ordered | strict | unordered;
# count persons | totals | sessions; breakdown by a property (first touch); exclusions.
# `opsledger build` and the Dagster funnel marts compute every funnel listed here.
funnels: []
#  - name: checkout
#    steps: [view_item, add_to_cart, begin_checkout, purchase]
#    window: 1d
#    mode: ordered
#    breakdown: tenant_id
#    breakdowns: [$browser, plan]   # more properties the dashboard offers to break down by
#    exclusions: [{event: logout, from_step: 1, to_step: 2}]
#    identities: identities.csv     # distinct_id,person_id: several ids merged into one person

# Compliance controls come in a later release; the section is reserved.
controls: []

# Live sources, collected by `opsledger collect prometheus|elasticsearch|ldap` (all of a kind, or
# --name one) and by Dagster: an asset per source and table, daily partitions, an hourly schedule
# (today, plus any day since the watermark). Every option of a collector can be set here. Secrets
# are never values: *_env fields name the environment variables that hold them.
# test_report_drop: a folder CI copies Playwright JSON / JUnit XML reports into; a Dagster sensor
# ingests each new file once into test_results.
#live:
#  prometheus:
#    - name: prod
#      url: https://prometheus.example.com
#      bearer_token_env: PROMETHEUS_TOKEN        # or username_env + password_env
#      queries:
#        - {query: 'http_requests_total', step: 60s}
#        - {name: up, query: 'up{job="api"}', step: 5m}
#  elasticsearch:
#    - name: logs
#      url: https://es.example.com:9200
#      api_key_env: ES_API_KEY                   # or username_env + password_env
#      targets:
#        - {table: log_records, index: 'logs-*', tiebreak_field: event.id}
#        - {table: audit_events, index: 'audit-*', tiebreak_field: event.id}
#  ldap:
#    - name: corp
#      url: ldaps://ldap.example.com
#      base_dn: dc=example,dc=com
#      bind_dn: cn=opsledger-reader,dc=example,dc=com
#      password_env: LDAP_BIND_PASSWORD
#  test_report_drop:
#    path: data/test-drop
"""


def demo_config(start: date, tenants: list[str]) -> str:
    """The config ``opsledger demo`` writes beside the generated files (``demo/`` under the home)."""
    tenant_lines = "".join(f"  - id: {t}\n" for t in tenants)
    return f"""\
# opsledger.yaml written by `opsledger demo` for the generated demo company (files in demo/).
partitions_start: {start.isoformat()}
tenants:
{tenant_lines}sources:
  - name: demo-metrics
    kind: metric_samples
    path: demo/metrics/{{date}}.om
  - name: demo-logs
    kind: log_records
    path: demo/logs/{{date}}.jsonl
  - name: demo-audit
    kind: audit_events
    path: demo/audit/{{date}}.jsonl
  - name: demo-directory
    kind: directory
    path: demo/directory/{{date}}.ldif
  - name: demo-tests
    kind: test_results
    path: demo/test-results/{{date}}/*
  - name: demo-events
    kind: product_events
    path: demo/events/{{date}}.jsonl
slos:
  specs: [demo/slos]
slas:
  - name: payments-monthly
    slo: payments-availability
    time_zone: Europe/Berlin
    target_percent: 99.95
    credit_tiers:
      - {{below: 99.95, credit_percent: 10}}
      - {{below: 99.0, credit_percent: 25}}
      - {{below: 95.0, credit_percent: 100}}
    maintenance_from_audit: true
    # payments takes a few requests a minute: a minute is down when at least half of them fail
    down_below: 0.5
  - name: catalog-monthly
    slo: catalog-availability-minutes
    time_zone: Europe/Berlin
    target_percent: 99.5
    credit_tiers:
      - {{below: 99.5, credit_percent: 10}}
      - {{below: 99.0, credit_percent: 25}}
    maintenance_from_audit: true
    down_below: 0.95
funnels:
  - name: checkout
    steps: [view_item, add_to_cart, begin_checkout, purchase]
    window: 1d
  - name: cart-to-checkout
    steps: [add_to_cart, begin_checkout]
    window: 1h
controls: []
"""
