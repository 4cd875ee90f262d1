#!/usr/bin/env bash
# Runs the benchmarks (not part of `pytest`: tests/benchmarks is in norecursedirs).
#   tests/benchmarks/run.sh                    # ingest benchmark on a 2 GiB generated log file
#   tests/benchmarks/run.sh --size-mb 200      # quick check
#   tests/benchmarks/run.sh --help             # every option
# Exit code 1 when a target is missed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${root}/.venv/bin/python"
[[ -x "${python}" ]] || python="python3"
cd "${root}"
exec "${python}" tests/benchmarks/bench_ingest.py "$@"
