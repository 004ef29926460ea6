#!/usr/bin/env bash
# Server CPU time per request that keygate adds over HTTP: `GET /healthz` (no auth) against
# `GET /v1/ping` (a valid key) on the demo server, for axum, actix-web and warp.
#
#   bash benches/http.sh [seconds per run, default 5] [connections, default 32] [rounds, default 5]
#
# The server is pinned to CPU 0 and wrk to CPU 1 (taskset), so that the two do not share a
# core. The server's CPU time is read from /proc/<pid>/task/*/schedstat (nanoseconds on a CPU,
# every thread) before and after each wrk run, and divided by the requests wrk completed: CPU
# per request, which does not depend on how fast the load generator is. The two routes are
# loaded in alternation, `rounds` times each, and the medians are compared. Both requests carry
# the same Authorization header, so that they differ only by the auth work. Logs are at the
# demo's default level (info).
#
# Needs wrk and taskset (Debian: apt-get install wrk util-linux); as root, the script installs
# wrk if it is missing. Needs 2 CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
connections="${2:-32}"
rounds="${3:-5}"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
  else
    echo "http.sh: wrk is not installed (apt-get install wrk)" >&2
    exit 2
  fi
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "http.sh: needs 2 CPUs, one for the server and one for wrk" >&2
  exit 2
fi

cargo build --release -q -p keygate-demo
demo=target/release/keygate-demo
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

# Nanoseconds the process has run on a CPU, all its threads together.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s}'; }

# CPU nanoseconds per request of one wrk run against `url`.
per_request() { # pid url header
  local before after requests
  before=$(cpu_ns "$1")
  requests=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -H "$3" "$2" \
    | awk '/requests in/ {print $1}')
  after=$(cpu_ns "$1")
  awk -v a="$after" -v b="$before" -v n="$requests" 'BEGIN {printf "%.1f", (a - b) / n}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

printf '%-8s %16s %16s %12s %8s\n' framework healthz_ns/req ping_ns/req added_ns added
for framework in axum actix warp; do
  # The productlane preset has no rate plan, so /v1/ping is never refused under load.
  taskset -c 0 "$demo" --framework "$framework" --preset productlane --addr 127.0.0.1:0 \
    >"$out/ready" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do [ -s "$out/ready" ] && break; sleep 0.1; done
  addr=$(sed -E 's/.*"addr":"([^"]+)".*/\1/' "$out/ready")
  key=$(sed -E 's/.*"admin_key":"([^"]+)".*/\1/' "$out/ready")
  header="Authorization: Bearer $key"
  taskset -c 1 wrk -t1 -c"$connections" -d1s -H "$header" "http://$addr/healthz" >/dev/null
  taskset -c 1 wrk -t1 -c"$connections" -d1s -H "$header" "http://$addr/v1/ping" >/dev/null
  h=(); p=()
  for _ in $(seq "$rounds"); do
    h+=("$(per_request "$pid" "http://$addr/healthz" "$header")")
    p+=("$(per_request "$pid" "http://$addr/v1/ping" "$header")")
  done
  healthz=$(median "${h[@]}")
  ping=$(median "${p[@]}")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  : >"$out/ready"
  printf '%-8s %16s %16s %12s %7s%%\n' "$framework" "$healthz" "$ping" \
    "$(awk -v a="$ping" -v b="$healthz" 'BEGIN {printf "%.0f", a - b}')" \
    "$(awk -v a="$ping" -v b="$healthz" 'BEGIN {printf "%+.1f", (a / b - 1) * 100}')"
  echo "  rounds healthz: ${h[*]}" >&2
  echo "  rounds ping:    ${p[*]}" >&2
done
