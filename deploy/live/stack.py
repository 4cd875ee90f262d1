"""Start (``up``) and stop (``down``) the live stack of ``deploy/live-stack.sh``.

``up`` generates the demo company into ``$OPSLEDGER_HOME/demo``, backfills a Prometheus TSDB from
its OpenMetrics days, loads its directory (the last day's LDIF) into slapd and its logs, audit and
product events into noida-db, then writes into ``<home>/live-stack/``: the collection settings
(``prometheus.yaml``, ``elasticsearch.yaml``), ``stack.env`` (URLs, range, LDAP names, for the
shell) and ``stack.pids`` (what ``down`` stops). Passwords come from the environment only:
``OPSLEDGER_LIVE_LDAP_ROOT_PASSWORD`` (slapd's rootdn, used to load entries) and
``OPSLEDGER_LIVE_LDAP_PASSWORD`` (the read-only account opsledger binds as).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from deploy.live.servers import Prometheus, SearchServer, Slapd, backfill, free_port, ssha

ROOT_PASSWORD_ENV = "OPSLEDGER_LIVE_LDAP_ROOT_PASSWORD"
READER_PASSWORD_ENV = "OPSLEDGER_LIVE_LDAP_PASSWORD"
HEADER = "# opsledger.yaml written by deploy/live-stack.sh"
# target table -> (index, demo folder, time field, tiebreak field): the demo's own field names
INDICES = {
    "log_records": ("logs-demo", "logs", "@timestamp", "service.name.keyword"),
    "audit_events": ("audit-demo", "audit", "ts", "session_id.keyword"),
    "product_events": ("events-demo", "events", "timestamp", "uuid.keyword"),
}
# Every raw series at the demo's scrape interval, so metric_samples holds the series the file
# path would (counters raw, histogram buckets, _sum and _count, up).
QUERIES = ({"name": "all", "query": '{__name__=~".+"}', "step": "60s"},)


def say(message: str) -> None:
    print(f"live-stack: {message}", file=sys.stderr, flush=True)


def json_documents(path: Path) -> Iterator[dict]:
    """The JSON objects of a demo file; the demo's deliberately broken lines cannot be indexed
    (only the file path sees and rejects them)."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                yield doc


def seed(url: str, demo_dir: Path, tables=tuple(INDICES)) -> dict[str, int]:
    """Bulk-index the demo files of ``tables``; the documents indexed per table."""
    from elasticsearch import Elasticsearch, helpers

    counts = {}
    with Elasticsearch(url, request_timeout=120) as es:
        for table in tables:
            index, folder, _, _ = INDICES[table]
            docs = (d for f in sorted((demo_dir / folder).glob("*.jsonl")) for d in json_documents(f))
            ok, errors = helpers.bulk(es, ({"_index": index, "_source": d} for d in docs), refresh=True)
            if errors:
                raise RuntimeError(f"bulk indexing into {index} failed: {errors[:1]}")
            counts[table] = ok
    return counts


def reader_ldif(base_dn: str, password: str) -> str:
    return (
        f"dn: cn=opsledger-reader,{base_dn}\nobjectClass: organizationalRole\n"
        f"objectClass: simpleSecurityObject\ncn: opsledger-reader\nuserPassword: {ssha(password)}\n"
    )


def _password(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise SystemExit(f"live-stack: set {variable} (deploy/live-stack.sh generates one)")
    return value


def _live_config(start: date, tenants: list[str]) -> str:
    """The demo's config without its file sources: here every table comes from a live server."""
    from opsledger.samples import demo_config

    config = yaml.safe_load(demo_config(start, tenants))
    config.pop("sources", None)
    return f"{HEADER}: SLOs, SLAs and tenants of the demo company.\n" + yaml.safe_dump(
        config, sort_keys=False
    )


def up(args: argparse.Namespace) -> None:
    from opsledger.demo import generate
    from opsledger.demo.model import BASE_DN

    home = args.home.resolve()
    config_path = home / "opsledger.yaml"
    if config_path.exists() and not config_path.read_text(encoding="utf-8").startswith(HEADER):
        raise SystemExit(f"live-stack: {config_path} is not the live stack's; give another --home")
    stack = home / "live-stack"
    if (stack / "stack.pids").exists():
        down(argparse.Namespace(home=home))
    shutil.rmtree(stack, ignore_errors=True)
    stack.mkdir(parents=True)
    root_password, reader_password = _password(ROOT_PASSWORD_ENV), _password(READER_PASSWORD_ENV)

    say(f"generating the demo company ({args.days} days from {args.start}) in {home / 'demo'}")
    story = generate(home / "demo", start=args.start, days=args.days, users=args.users, scale=args.scale)
    config_path.write_text(_live_config(args.start, list(story.tenants)), encoding="utf-8")

    say("backfilling Prometheus with promtool tsdb create-blocks-from openmetrics")
    data_dir = backfill(sorted((home / "demo" / "metrics").glob("*.om")), stack / "prometheus" / "data")
    servers = []
    pids = stack / "stack.pids"
    try:
        prometheus = Prometheus(args.prometheus_port or free_port(), stack / "prometheus", data_dir=data_dir)
        servers.append(prometheus.start())
        _record(pids, prometheus)
        slapd = Slapd(
            args.ldap_port or free_port(),
            stack / "slapd",
            suffix=BASE_DN,
            root_dn=f"cn=admin,{BASE_DN}",
            root_password=root_password,
        )
        servers.append(slapd.start())
        _record(pids, slapd)
        say(f"loading the directory into slapd at {slapd.url}")
        slapd.load(sorted((home / "demo" / "directory").glob("*.ldif"))[-1])
        slapd.load(reader_ldif(BASE_DN, reader_password))
        search = SearchServer(args.es_port or free_port(), stack / "noida", data_dir=stack / "noida" / "data")
        servers.append(search.start())
        _record(pids, search)
        say(f"indexing logs, audit and product events into noida-db at {search.url}")
        seeded = seed(search.url, home / "demo")
    except BaseException:
        for server in servers:
            server.stop()
        pids.unlink(missing_ok=True)
        raise
    start = datetime(args.start.year, args.start.month, args.start.day, tzinfo=UTC)
    _write_settings(stack, prometheus, search, args.name)
    env = {
        "PROMETHEUS_URL": prometheus.url,
        "ELASTICSEARCH_URL": search.url,
        "LDAP_URL": slapd.url,
        "LDAP_BASE_DN": BASE_DN,
        "LDAP_BIND_DN": f"cn=opsledger-reader,{BASE_DN}",
        "RANGE_START": start.isoformat(),
        "RANGE_END": (start + timedelta(days=args.days)).isoformat(),
        "PIDS": " ".join(str(s.pid) for s in servers),
    }
    (stack / "stack.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
    say("seeded " + ", ".join(f"{n} {table}" for table, n in seeded.items()))


def _record(pids: Path, server) -> None:
    with pids.open("a", encoding="utf-8") as out:
        out.write(f"{server.pid} {Path(server.process.args[0]).name}\n")


def _write_settings(stack: Path, prometheus: Prometheus, search: SearchServer, name: str) -> None:
    prom = {"name": name, "url": prometheus.url, "queries": list(QUERIES)}
    targets = [
        {"table": table, "index": index, "time_field": time_field, "tiebreak_field": tiebreak}
        for table, (index, _, time_field, tiebreak) in INDICES.items()
    ]
    (stack / "prometheus.yaml").write_text(yaml.safe_dump(prom, sort_keys=False))
    (stack / "elasticsearch.yaml").write_text(
        yaml.safe_dump({"name": name, "url": search.url, "targets": targets}, sort_keys=False)
    )


def down(args: argparse.Namespace) -> None:
    """Stop the servers ``up`` recorded, by PID; a PID now held by another program is left alone."""
    pids = args.home.resolve() / "live-stack" / "stack.pids"
    if not pids.exists():
        return
    running = []
    for line in pids.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        pid, program = line.split(maxsplit=1)
        if _is(int(pid), program):
            os.kill(int(pid), signal.SIGTERM)
            running.append((int(pid), program))
    deadline = time.monotonic() + 15
    while running and time.monotonic() < deadline:
        time.sleep(0.1)
        running = [(pid, program) for pid, program in running if _is(pid, program)]
    for pid, _ in running:
        os.kill(pid, signal.SIGKILL)
    pids.unlink()
    say("stopped the live stack")


def _is(pid: int, program: str) -> bool:
    """Is ``pid`` still ``program`` (and not a zombie)?"""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return Path(argv0).name == program and "\nState:\tZ" not in status


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="generate the demo and start the servers loaded with it")
    start.add_argument("--home", type=Path, required=True)
    start.add_argument("--days", type=int, default=3)
    start.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1))
    start.add_argument("--users", type=int, default=60)
    start.add_argument("--scale", type=float, default=0.2)
    start.add_argument("--name", default="demo", help="source names: prometheus:NAME, …")
    for server in ("prometheus", "ldap", "es"):
        start.add_argument(f"--{server}-port", type=int, default=0, help="default: a free port")
    stop = sub.add_parser("down", help="stop the servers that up started")
    stop.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    {"up": up, "down": down}[args.command](args)


if __name__ == "__main__":
    main()
