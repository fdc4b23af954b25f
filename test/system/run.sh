#!/usr/bin/env bash
# Placeholder until the system-service issue lands: the booted-systemd tier has no tests yet.
set -euo pipefail
report=${1:?report path}
echo '{"numPassedTests":0,"numFailedTests":0,"numPendingTests":0,"numTodoTests":0,"numFailedTestSuites":0}' >"$report"
echo "test-system: no booted-systemd tests yet"
