#!/usr/bin/env bash
# What `--jobs` buys: the wall-clock time of checking scenarios with one job and with
# N (default: the machine's cores), and the longest single run among them, which no
# number of jobs can beat. A benchmark, not a test: the machine's load moves the
# figures, so run it on a quiet machine and compare the two lines of one run.
#
#   ci/bench-jobs.sh                      # scenarios/*.ron
#   ci/bench-jobs.sh scenarios/folio/     # other scenarios
#   JOBS=4 ci/bench-jobs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet -p wqcheck
if [ "$#" -eq 0 ]; then
  set -- scenarios/*.ron
fi
jobs="${JOBS:-$(nproc)}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
for j in 1 "$jobs"; do
  start=$EPOCHREALTIME
  target/release/wqcheck --quiet --format json --jobs "$j" "$@" > "$out" || true
  end=$EPOCHREALTIME
  awk -v j="$j" -v s="$start" -v e="$end" 'BEGIN { printf "jobs=%s: %.1f s wall\n", j, e - s }'
done
# The longest single (scenario, engine) run of the last round, from its JSON.
python3 - "$out" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
runs = [r for r in runs if r.get("type") == "result"]
if runs:
    r = max(runs, key=lambda r: r["elapsed_ms"])
    total = sum(r["elapsed_ms"] for r in runs) / 1000
    print(f"longest run: {r['elapsed_ms'] / 1000:.1f} s ({r['scenario']} [{r['backend']}]); "
          f"all runs: {total:.1f} s of work")
PY
