#!/usr/bin/env bash
# The demo against live servers: generate the demo company, serve it from a local Prometheus
# (TSDB backfilled with promtool), slapd and noida-db (Elasticsearch API) on 127.0.0.1, collect
# from them with `opsledger collect prometheus|elasticsearch|ldap`, build, print rows per table.
#
#   deploy/live-stack.sh [--days N] [--home DIR] [--keep] [--prometheus-port P] [--ldap-port P]
#                        [--es-port P] [--users N] [--scale X]
#
# --home      OPSLEDGER_HOME to collect into (default: $OPSLEDGER_HOME, else ./.opsledger-live)
# --keep      leave the servers running; prints their URLs and the command that stops them
# Ports default to free ones. Servers are stopped by PID when the script exits (also on error
# or Ctrl-C) unless --keep. Needs the Debian packages prometheus, slapd, ldap-utils.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${root}/.venv/bin/python"
opsledger="${root}/.venv/bin/opsledger"

home="${OPSLEDGER_HOME:-./.opsledger-live}"
keep=0
up_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --home) home="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        --days | --users | --scale | --start | --prometheus-port | --ldap-port | --es-port)
            up_args+=("$1" "$2"); shift 2 ;;
        -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "live-stack: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for tool in prometheus promtool ldapadd ldapsearch; do
    command -v "${tool}" >/dev/null || { echo "live-stack: ${tool} not found (apt-get install prometheus slapd ldap-utils)" >&2; exit 2; }
done
[[ -x /usr/sbin/slapd ]] || { echo "live-stack: /usr/sbin/slapd not found (apt-get install slapd)" >&2; exit 2; }

mkdir -p "${home}"
home="$(cd "${home}" && pwd)"
export OPSLEDGER_HOME="${home}"
unset OPSLEDGER_CONFIG
export PYTHONPATH="${root}${PYTHONPATH:+:${PYTHONPATH}}"
# Throwaway passwords for this stack, from the environment only (never in a file or argv).
new_secret() { "${python}" -c 'import secrets; print(secrets.token_urlsafe(18))'; }
export OPSLEDGER_LIVE_LDAP_ROOT_PASSWORD="${OPSLEDGER_LIVE_LDAP_ROOT_PASSWORD:-$(new_secret)}"
export OPSLEDGER_LIVE_LDAP_PASSWORD="${OPSLEDGER_LIVE_LDAP_PASSWORD:-$(new_secret)}"

stop_stack() { "${python}" -m deploy.live.stack down --home "${home}"; }
trap '[[ ${keep} -eq 1 ]] || stop_stack' EXIT

"${python}" -m deploy.live.stack up --home "${home}" "${up_args[@]}"
# shellcheck disable=SC1091
source "${home}/live-stack/stack.env"

echo "collecting [${RANGE_START}, ${RANGE_END}) into ${home}" >&2
"${opsledger}" collect prometheus --settings "${home}/live-stack/prometheus.yaml" \
    --start "${RANGE_START}" --end "${RANGE_END}"
"${opsledger}" collect elasticsearch --settings "${home}/live-stack/elasticsearch.yaml" \
    --start "${RANGE_START}" --end "${RANGE_END}"
"${opsledger}" collect ldap --url "${LDAP_URL}" --base-dn "${LDAP_BASE_DN}" --name demo \
    --bind-dn "${LDAP_BIND_DN}" --password-env OPSLEDGER_LIVE_LDAP_PASSWORD
"${opsledger}" build

echo "rows per table:"
"${opsledger}" sql --format csv -- "$(cat "${root}/deploy/live/counts.sql")" | tail -n +2 |
    while IFS=, read -r table rows; do printf '  %-24s %12s\n' "${table}" "${rows}"; done

if [[ ${keep} -eq 1 ]]; then
    cat <<EOF
servers left running:
  prometheus     ${PROMETHEUS_URL}
  elasticsearch  ${ELASTICSEARCH_URL}  (noida-db)
  ldap           ${LDAP_URL}  (bind ${LDAP_BIND_DN}; its password is in OPSLEDGER_LIVE_LDAP_PASSWORD of this run only)
collect again:   OPSLEDGER_HOME=${home} ${opsledger} collect prometheus --settings ${home}/live-stack/prometheus.yaml
stop them:       ${python} -m deploy.live.stack down --home ${home}   (PIDs ${PIDS}; run from ${root})
EOF
fi
