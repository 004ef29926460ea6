#!/usr/bin/env bash
# HTTP overhead of keygate: requests/s of GET /healthz (no auth) and GET /v1/ping (a valid key)
# on the demo server, for each framework, measured back to back in one run with wrk. Both
# requests carry the same Authorization header, so that they differ only by the auth work.
#
#   bash benches/http.sh [seconds per run, default 10] [connections, default 32] [rounds, default 3]
#
# The two routes are loaded in alternation, `rounds` times each, and the medians are compared:
# on a small machine the load generator and the server share the cores, and single runs vary
# by several percent.
#
# Needs wrk (Debian: apt-get install wrk); as root, the script installs it if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-32}"
rounds="${3:-3}"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
  else
    echo "http.sh: wrk is not installed (apt-get install wrk)" >&2
    exit 2
  fi
fi

cargo build --release -q -p keygate-demo
demo=target/release/keygate-demo
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

rps() { # url [header]
  local args=(-t1 -c"$connections" -d"${duration}s" --latency)
  [ -n "${2:-}" ] && args+=(-H "$2")
  wrk "${args[@]}" "$1" | awk '/Requests\/sec/ {print $2}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

printf '%-8s %14s %14s %8s\n' framework healthz_rps ping_rps ratio
for framework in axum actix warp; do
  # The productlane preset has no rate plan, so /v1/ping is never refused under load.
  "$demo" --framework "$framework" --preset productlane --addr 127.0.0.1:0 >"$out/ready" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do [ -s "$out/ready" ] && break; sleep 0.1; done
  addr=$(sed -E 's/.*"addr":"([^"]+)".*/\1/' "$out/ready")
  key=$(sed -E 's/.*"admin_key":"([^"]+)".*/\1/' "$out/ready")
  wrk -t1 -c4 -d1s "http://$addr/healthz" >/dev/null # warm up
  h=(); p=()
  for _ in $(seq "$rounds"); do
    h+=("$(rps "http://$addr/healthz" "Authorization: Bearer $key")")
    p+=("$(rps "http://$addr/v1/ping" "Authorization: Bearer $key")")
  done
  healthz=$(median "${h[@]}")
  ping=$(median "${p[@]}")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  : >"$out/ready"
  printf '%-8s %14s %14s %8s\n' "$framework" "$healthz" "$ping" "$(awk -v a="$ping" -v b="$healthz" 'BEGIN {printf "%.3f", a / b}')"
done
