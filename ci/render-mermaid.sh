#!/usr/bin/env bash
# Render the Mermaid sequence diagrams of a wqcheck Markdown report to PNG files in
# headless Chromium, and check that each shows one lifeline per thread and actor.
#
#   wqcheck --markdown report.md scenarios/linux-4.13-rc6-lock-page-killable.ron
#   ci/render-mermaid.sh report.md [OUT_DIR]     # OUT_DIR defaults to mermaid-png/
#
# Needs Node.js and npm, and Chromium (Debian: `apt-get install chromium`, or set
# CHROMIUM to its path). The npm packages (pinned in ci/mermaid/package.json) are
# installed into ci/mermaid/node_modules on the first run.
set -euo pipefail
report="$(realpath "$1")"
out="$(realpath -m "${2:-mermaid-png}")"
cd "$(dirname "$0")/mermaid"
if [ ! -d node_modules ]; then
  npm install --no-audit --no-fund --silent
fi
node render.mjs "$report" "$out"
