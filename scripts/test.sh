#!/usr/bin/env bash
# The project's one test command (README: `npm ci && npm test`; .ci/run calls exactly that).
# Installs what the tests need (checkov, promtool, actionlint, the local Kafka/Cassandra/S3
# services), then runs every stage and prints one summary line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

RESULTS_DIR=".test-results"
rm -rf "$RESULTS_DIR" && mkdir -p "$RESULTS_DIR"
TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
START=$(date +%s)

record() { # name passed failed seconds
  TOTAL_PASSED=$((TOTAL_PASSED + $2)); TOTAL_FAILED=$((TOTAL_FAILED + $3))
  SUMMARY+=("$(printf '%-22s %5s passed %4s failed %6ss' "$1" "$2" "$3" "$4")")
}

# A stage that is one pass/fail step.
step() { # name command...
  local name="$1"; shift; local t0=$(date +%s)
  log "$name"
  if "$@"; then record "$name" 1 0 $(( $(date +%s) - t0 )); else record "$name" 0 1 $(( $(date +%s) - t0 )); fi
}

# A jest project; counts come from jest's JSON report. JEST_NODE runs jest on another Node binary.
jest_stage() { # name jest-args...
  local name="$1"; shift; local t0=$(date +%s)
  log "$name"
  if [ -n "${JEST_NODE:-}" ]; then "$JEST_NODE" node_modules/jest/bin/jest.js "$@" --json --outputFile="$RESULTS_DIR/$name.json"
  else npx jest "$@" --json --outputFile="$RESULTS_DIR/$name.json"; fi
  local counts
  counts=$(node -e '
    try { const r = require(process.argv[1]);
      const failedSuites = r.testResults.filter(s => s.status === "failed" && s.assertionResults.length === 0).length;
      console.log(r.numPassedTests, r.numFailedTests + failedSuites);
    } catch { console.log(0, 1); }' "$PWD/$RESULTS_DIR/$name.json")
  record "$name" ${counts% *} ${counts#* } $(( $(date +%s) - t0 ))
}

checkov_stage() {
  local t0=$(date +%s) out
  log "checkov security gate"
  out=$(bash scripts/ci/checkov.sh 2>&1); local rc=$?
  echo "$out"
  local p f
  p=$(echo "$out" | awk '/^checkov\[.*\]: [0-9]+ passed/ {s += $2} END {print s + 0}')
  f=$(echo "$out" | awk '/^checkov\[.*\]: [0-9]+ passed/ {s += $4} END {print s + 0}')
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  record "checkov" "$p" "$f" $(( $(date +%s) - t0 ))
}

# Terraform itself on every stack, against the mock providers: one pass/fail per stack and comment check.
terraform_stage() {
  local t0=$(date +%s) out rc
  log "terraform on every stack"
  out=$(npx tsx scripts/terraform/test-stacks.ts 2>&1); rc=$?
  echo "$out"
  local p f
  p=$(echo "$out" | grep -c '^PASS '); f=$(echo "$out" | grep -c '^FAIL ')
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  record "terraform" "$p" "$f" $(( $(date +%s) - t0 ))
}

step "install tools" bash -c 'source scripts/lib.sh && ensure_checkov && ensure_parliament && ensure_promtool && ensure_helm && ensure_terraform >/dev/null && ensure_mock_provider >/dev/null && bash scripts/ci/install-actionlint.sh >/dev/null'
if [ -f scripts/local/local-services.ts ]; then
  step "install services" npx tsx scripts/local/local-services.ts install
fi
step "typecheck" npx tsc -p tsconfig.json --noEmit
# eslint (typescript-eslint) and prettier --check over the whole tree.
step "lint" npm run --silent lint
step "synth" npm run --silent synth
jest_stage "unit" --selectProjects unit
# The image runs Node 24 while the toolchain keeps Node 20: the apps' unit tests once more on 24
# (jest's workers fork process.execPath, so they run on it too). The path comes before
# --selectProjects, which would read it as a project name.
if NODE24="$(ensure_node24)"; then
  JEST_NODE="$NODE24" jest_stage "unit (node 24)" test/apps/ --selectProjects unit
else
  record "unit (node 24)" 0 1 0
fi
checkov_stage
step "iam lint (parliament)" bash scripts/ci/lint-iam.sh
terraform_stage
jest_stage "integration" --selectProjects integration --runInBand

echo
echo "──────────── test summary ($(( $(date +%s) - START ))s) ────────────"
printf '%s\n' "${SUMMARY[@]}"
echo "${TOTAL_PASSED} passed, ${TOTAL_FAILED} failed"
[ "$TOTAL_FAILED" -eq 0 ]
