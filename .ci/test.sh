#!/usr/bin/env bash
# Run the whole suite: the Qt-free tests, then the Qt tests (offscreen) in a second process, so a crash of one
# (rc >= 128: Qt can take the interpreter down) is reported as such and the other half still runs.
# pytest's exit code 5 ("no tests collected") is a failure: a suite that ran nothing never passes.
# The last line sums every run: "suite: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
rc=0
n=0
crashed=0
run() {
  n=$((n + 1))
  "$PY" -m pytest -q --junitxml="$reports/$n.xml" "$@"
  local r=$?
  if [ $r -eq 5 ]; then echo "pytest collected no tests in: $*" >&2; r=1; fi
  if [ $r -ge 128 ]; then crashed=$((crashed + 1)); echo "pytest crashed (exit $r) in: $*" >&2; fi
  if [ $r -ne 0 ]; then rc=$r; fi
}
run --ignore=tests/qt "$@"
run tests/qt "$@"
"$PY" - "$reports" "$crashed" <<'PYEOF'
import sys, pathlib, xml.etree.ElementTree as ET
tests = skipped = 0
failed = int(sys.argv[2])  # a crashed pytest process writes no report: count it as a failure
for f in pathlib.Path(sys.argv[1]).glob("*.xml"):
    for s in ET.parse(f).getroot().iter("testsuite"):
        tests += int(s.get("tests", 0)); skipped += int(s.get("skipped", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
if tests == 0:
    print("suite: no tests ran", file=sys.stderr); sys.exit(1)
print(f"suite: {tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
PYEOF
sum_rc=$?
if [ $rc -eq 0 ] && [ $sum_rc -ne 0 ]; then rc=$sum_rc; fi
exit $rc
