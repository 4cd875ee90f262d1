#!/usr/bin/env bash
# Runs the benchmarks (not part of `pytest`: tests/benchmarks is in norecursedirs).
#   tests/benchmarks/run.sh ingest [--size-mb 200]   # ingest: opsledger vs DuckDB COPY vs pandas
#   tests/benchmarks/run.sh slo                      # SLO replay: opsledger vs Prometheus query_range
#   tests/benchmarks/run.sh funnel                   # funnels: opsledger vs ClickHouse windowFunnel
#   tests/benchmarks/run.sh collect                  # live collection: Prometheus, LDAP
#   tests/benchmarks/run.sh all                      # each of the above at its default size
#   tests/benchmarks/run.sh NAME --help              # every option of one benchmark
# With no name, the ingest benchmark runs. Exit code 1 when a target is missed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"
python="${root}/.venv/bin/python"
if [[ ! -x "${python}" ]]; then
    echo "no .venv yet: run ./run.sh test (or ./run.sh demo --no-serve) once first" >&2
    exit 2
fi

name="ingest"
if [[ $# -gt 0 && "$1" != -* ]]; then
    name="$1"
    shift
fi

case "${name}" in
    ingest | slo | collect) ;;
    funnel)
        # ClickHouse (chdb, ~500 MB) is in the optional `bench` dependency group only.
        if ! "${python}" -c "import chdb" 2>/dev/null; then
            uv="uv"
            command -v uv >/dev/null || uv="python3 -m uv"
            ${uv} sync --frozen --group bench
        fi
        ;;
    all)
        status=0
        for each in ingest slo funnel collect; do
            echo "== ${each} =="
            "$0" "${each}" || status=1
        done
        exit "${status}"
        ;;
    *)
        echo "unknown benchmark '${name}': expected ingest, slo, funnel, collect or all" >&2
        exit 2
        ;;
esac
exec "${python}" "tests/benchmarks/bench_${name}.py" "$@"
