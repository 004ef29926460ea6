#!/usr/bin/env bash
# Times `keygate scan` against ripgrep with the same pattern on the same corpus.
# Usage: scripts/scan-bench.sh [CORPUS_DIR] [MEGABYTES]   (needs rg and hyperfine)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${1:-/tmp/kg-corpus}
[ -d "$corpus" ] || python3 "$here/scan-corpus.py" "$corpus" "${2:-300}"
cargo build --release -p keygate-cli
keygate=${CARGO_TARGET_DIR:-$here/../../../target}/release/keygate
# What the presets' keys look like to a regex: prefix, then the 61-character body; a retired
# prefix, then at least 16 characters (what keygate reports as retired).
pattern='\b(?:(?:pl_v2_|pk_|sk_live_|sk_test_|ws_)[0-9A-Za-z]{61}|pl_v1_[0-9A-Za-z]{16,})\b'
cat "$corpus"/*/*/* >/dev/null   # both read from the page cache
hyperfine -N -i --warmup 1 --runs 5 \
  "$keygate scan $corpus" "rg -n --column -o $pattern $corpus"
hyperfine -N -i --warmup 1 --runs 5 \
  "$keygate scan --threads 1 $corpus" "rg -j1 -n --column -o $pattern $corpus"
