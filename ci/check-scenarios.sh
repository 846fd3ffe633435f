#!/usr/bin/env bash
# The wqcheck regression gate, as a project would wire it into its CI:
# build wqcheck, then check every scenario; the exit code is wqcheck's own
# (0: every scenario met its `expect`, 1: some did not, 2: bad input).
#
#   ci/check-scenarios.sh                 # scenarios/*.ron, human output
#   ci/check-scenarios.sh path/to/*.ron   # other scenarios
#   WQCHECK_FORMAT=json ci/check-scenarios.sh > results.jsonl
#   WQCHECK_MAX_MEMORY=2GiB ci/check-scenarios.sh   # the native explorer's memory budget
#                                                   # (default: half the runner's memory,
#                                                   # shared among the jobs)
#   WQCHECK_PARTITION=2/3 ci/check-scenarios.sh     # one machine of three in a CI matrix
#   WQCHECK_JOBS=1 ci/check-scenarios.sh            # one scenario at a time
#                                                   # (default: one per core)
#   WQCHECK_JUNIT=results.xml WQCHECK_MARKDOWN="$GITHUB_STEP_SUMMARY" ci/check-scenarios.sh
#   WQCHECK_ANNOTATIONS=annotations.txt ci/check-scenarios.sh
#                                                   # reports beside the output
#   WQCHECK_PROFILE=ci ci/check-scenarios.sh        # build wqcheck in another cargo profile
#                                                   # (default: release)
# A search a budget stops is Inconclusive and fails its scenario; the run goes on
# and the summary counts it.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${WQCHECK_PROFILE:-release}"
cargo build --profile "$profile" --locked --quiet -p wqcheck
if [ "$#" -eq 0 ]; then
  set -- scenarios/*.ron
fi
options=()
if [ -n "${WQCHECK_MAX_MEMORY:-}" ]; then
  options+=(--max-memory "$WQCHECK_MAX_MEMORY")
fi
if [ -n "${WQCHECK_PARTITION:-}" ]; then
  options+=(--partition "$WQCHECK_PARTITION")
fi
if [ -n "${WQCHECK_JOBS:-}" ]; then
  options+=(--jobs "$WQCHECK_JOBS")
fi
if [ -n "${WQCHECK_JUNIT:-}" ]; then
  options+=(--junit "$WQCHECK_JUNIT")
fi
if [ -n "${WQCHECK_MARKDOWN:-}" ]; then
  options+=(--markdown "$WQCHECK_MARKDOWN")
fi
if [ -n "${WQCHECK_ANNOTATIONS:-}" ]; then
  options+=(--github-annotations "$WQCHECK_ANNOTATIONS")
fi
exec "target/$profile/wqcheck" --format "${WQCHECK_FORMAT:-human}" "${options[@]}" "$@"
