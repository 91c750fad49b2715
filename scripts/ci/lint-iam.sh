#!/usr/bin/env bash
# IAM lint gate: parliament over every IAM policy document of every synthesized stack
# (scripts/ci/lint-iam.ts). Fails on any finding at MEDIUM or above that
# policies/iam/parliament-suppressions.yaml does not list.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
ensure_parliament
exec npx tsx scripts/ci/lint-iam.ts "$@"
