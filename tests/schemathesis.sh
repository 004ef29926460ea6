#!/usr/bin/env bash
# Runs schemathesis against the demo server for every preset: the demo serves the OpenAPI
# description of its management API at /v1/openapi.json, and every answer to a bounded number
# of generated requests must be no 5xx, have a documented status and content type, and match
# its schema. Installs schemathesis from PyPI (pinned) when it is missing.
#
#   tests/schemathesis.sh [max examples per operation, default 25]
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
examples="${1:-25}"

if ! command -v schemathesis >/dev/null || \
    [ "$(schemathesis --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet -p keygate-demo
target_dir="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
demo="$target_dir/debug/keygate-demo"

workdir="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$workdir"
}
trap cleanup EXIT

for preset in productlane plane livetest workspace; do
    echo "schemathesis: $preset"
    "$demo" --addr 127.0.0.1:0 --preset "$preset" >"$workdir/ready" 2>"$workdir/log" &
    pid=$!
    for _ in $(seq 1 100); do
        [ -s "$workdir/ready" ] && break
        sleep 0.1
    done
    read -r addr key < <(python3 -c 'import json, sys
ready = json.loads(open(sys.argv[1]).readline())
print(ready["addr"], ready["admin_key"])' "$workdir/ready")
    if [ "$preset" = plane ]; then header="X-Api-Key: $key"; else header="Authorization: Bearer $key"; fi
    (cd "$workdir" && schemathesis run "http://$addr/v1/openapi.json" \
        --header "$header" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "$examples" \
        --seed 1 \
        --generation-with-security-parameters false \
        --workers 1 \
        --no-color \
        --output-truncate true)
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
done
echo "schemathesis: every preset conforms"
