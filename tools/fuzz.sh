#!/usr/bin/env bash
# make fuzz: coverage-guided fuzzing (Jazzer) of every parser that takes untrusted bytes, one target after another,
# each for the maxDuration its @FuzzTest declares (minutes). Reports executions per target and any finding; a finding
# is saved by Jazzer under src/test/resources/<package>/<Class>Inputs/<method>/ and from then on replays in make test.
# FUZZ_TARGETS narrows the run, e.g. FUZZ_TARGETS="control-client:MeshDocumentFuzzTest#meshDocuments".
set -uo pipefail
cd "$(dirname "$0")/.."
: "${JAVA_HOME:?set JAVA_HOME to a JDK 25 (make fuzz does)}"
TARGETS=${FUZZ_TARGETS:-"
control-client:MeshDocumentFuzzTest#meshDocuments
control-client:MeshDocumentFuzzTest#ipLiterals
node-agent:PodEventFuzzTest#frames
node-agent:PodEventFuzzTest#cniRequests
node-agent:HboneAuthorityFuzzTest#authority
node-agent:NodeConfigFuzzTest#nodeConfig
node-agent:ControlHttpFuzzTest#requests
"}
mkdir -p bench/results
REPORT=bench/results/fuzz-$(date -u +%Y%m%dT%H%M%SZ).txt
status=0
printf '%-60s %14s %8s %s\n' target executions seconds result | tee "$REPORT"
for t in $TARGETS; do
  module=${t%%:*}; test=${t#*:}
  log=$(mktemp)
  JAZZER_FUZZ=1 mvn -B -ntp -o -q test -pl "$module" -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
    >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$log" | tail -1)
  result=ok
  if [ $rc -ne 0 ]; then
    result="FINDING (see $log and the new file under $module/src/test/resources)"; status=1
  else
    rm -f "$log"
  fi
  printf '%-60s %14s %8s %s\n' "$t" "${runs% *}" "${runs#* }" "$result" | tee -a "$REPORT"
done
find . -maxdepth 2 -name .cifuzz-corpus -prune -exec rm -rf {} +
echo "fuzz: report in $REPORT"
exit $status
