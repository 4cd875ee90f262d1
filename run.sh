#!/usr/bin/env bash
# The two commands of the README:
#   ./run.sh demo [--no-serve] [opsledger demo options]   set up, build the demo, serve the UIs
#   ./run.sh test [pytest options]                        set up everything the tests need, run them
# Both are safe to re-run: each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

python_env() {
  local uv=(uv)
  if ! command -v uv >/dev/null 2>&1; then
    if ! python3 -m uv --version >/dev/null 2>&1; then
      log "installing uv (Python package manager) from PyPI"
      python3 -m pip install --quiet --user uv
    fi
    uv=(python3 -m uv)  # works whether or not pip's script folder is on PATH
  fi
  log "installing the Python environment in .venv (pinned by uv.lock)"
  "${uv[@]}" sync --frozen --quiet --python 3.11
}

system_packages() {
  local wanted=(prometheus slapd ldap-utils chromium poppler-utils) missing=()
  for p in "${wanted[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting system services (slapd); the tests start their own.
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d; guard=1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -z "$guard" ] || $sudo rm -f /usr/sbin/policy-rc.d
}

case "${1:-}" in
  demo)
    shift
    python_env
    exec .venv/bin/opsledger demo "$@"
    ;;
  test)
    shift
    system_packages
    python_env
    exec .venv/bin/pytest "$@"
    ;;
  *)
    echo "usage: ./run.sh demo [--no-serve] | ./run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
