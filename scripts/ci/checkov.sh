#!/usr/bin/env bash
# Security gate: checkov over the synthesized Terraform JSON of every stack, plus the
# project's own checks (policies/checkov). Fails on any failed check.
# Usage: scripts/ci/checkov.sh [cdktf.out/stacks]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
ensure_checkov

STACKS_DIR="${1:-cdktf.out/stacks}"
[ -d "$STACKS_DIR" ] || { echo "no synthesized stacks in $STACKS_DIR: run 'npm run synth' first" >&2; exit 2; }
REPORT_DIR="${CHECKOV_REPORT_DIR:-cdktf.out/checkov}"
mkdir -p "$REPORT_DIR"

status=0
run() {
  local name="$1"; shift
  if checkov --config-file .checkov.yaml "$@" --output cli --output json --output-file-path "$REPORT_DIR/$name" >"$REPORT_DIR/$name.log" 2>&1; then
    :
  else
    status=1
  fi
  python3 - "$REPORT_DIR/$name/results_json.json" "$name" <<'PY'
import json, sys
path, name = sys.argv[1], sys.argv[2]
data = json.load(open(path))
reports = data if isinstance(data, list) else [data]
p = f = s = 0
for r in reports:
    summary = r.get("summary", {})
    p += summary.get("passed", 0); f += summary.get("failed", 0); s += summary.get("skipped", 0)
    for c in r.get("results", {}).get("failed_checks", []):
        print(f"  FAILED {c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}")
print(f"checkov[{name}]: {p} passed, {f} failed, {s} skipped")
PY
}

# Built-in checks + project checks that hold for every environment.
run all -d "$STACKS_DIR" --external-checks-dir policies/checkov/all
# Production-only project checks (PITR, min ISR 2, prevent_destroy, retention, API endpoint) over the prod stack.
if [ -d "$STACKS_DIR/prod" ]; then
  run production -d "$STACKS_DIR/prod" --external-checks-dir policies/checkov/production --check CKV_SDP_101,CKV_SDP_102,CKV_SDP_103,CKV_SDP_104,CKV_SDP_105
fi
exit $status
