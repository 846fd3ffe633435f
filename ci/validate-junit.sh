#!/usr/bin/env bash
# Validate a JUnit report of wqcheck (`--junit FILE`) against the Surefire JUnit schema,
# junit-10.xsd (MIT, Gregory Boissinot), the one CI systems read. The schema is not kept
# in this repository: it is taken from the pytest 8.3.4 source distribution on PyPI
# (testing/example_scripts/junit-10.xsd, the copy pytest's own tests validate against),
# and checked with the `xmlschema` package, both into a cache directory.
#
#   wqcheck --junit report.xml scenarios/*.ron
#   ci/validate-junit.sh report.xml [MORE.xml ...]
#
# Needs python3 with pip, and PyPI. Exit 0 when every file is valid.
#
# The test suite validates offline: the test `junit_schema`
# (crates/wqcheck-report/tests/junit_schema.rs) checks a report built through the
# library against a vendored copy of this schema
# (crates/wqcheck-report/tests/fixtures/junit-10.xsd) with a small validator of its own.
# This script remains the cross-check with an independent validator (xmlschema); the
# test writes its documents for it with `WQCHECK_JUNIT_SAMPLES=DIR`:
#
#   WQCHECK_JUNIT_SAMPLES=/tmp/junit cargo test --profile ci -p wqcheck-report --test junit_schema
#   ci/validate-junit.sh /tmp/junit/report.xml
set -euo pipefail
cache="${WQCHECK_SCHEMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wqcheck-junit-schema}"
xsd="$cache/junit-10.xsd"
mkdir -p "$cache"
if [ ! -f "$xsd" ]; then
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$cache" pytest==8.3.4
  tar -xzf "$cache/pytest-8.3.4.tar.gz" -C "$cache" --strip-components=3 \
    pytest-8.3.4/testing/example_scripts/junit-10.xsd
fi
if ! PYTHONPATH="$cache/py${PYTHONPATH:+:$PYTHONPATH}" python3 -c 'import xmlschema' 2>/dev/null; then
  python3 -m pip install --quiet --target "$cache/py" xmlschema
fi
PYTHONPATH="$cache/py${PYTHONPATH:+:$PYTHONPATH}" python3 - "$xsd" "$@" <<'PY'
import sys
import xmlschema
schema = xmlschema.XMLSchema(sys.argv[1])
bad = 0
for f in sys.argv[2:]:
    errors = list(schema.iter_errors(f))
    for e in errors[:5]:
        print(f"{f}: {e.reason} (at {e.path})")
    print(f"{f}: {'valid' if not errors else f'{len(errors)} errors'}")
    bad += bool(errors)
sys.exit(1 if bad else 0)
PY
