#!/usr/bin/env bash
# Waits until every app Deployment in an environment's EKS cluster has rolled out, all at once,
# with `kubectl rollout status`. A rollout that makes no progress for the Deployment's
# progressDeadlineSeconds (constructs/stream-app.ts) fails as soon as Kubernetes says so;
# ROLLOUT_TIMEOUT bounds the whole wait. Exits 1 naming every app that did not become healthy,
# after printing its pods and recent events. The deploy workflow rolls back on that exit.
#
# Needs: the AWS CLI and kubectl, and AWS credentials with an EKS access entry on the cluster
# (the deploy role in CI). Writes its own kubeconfig, so yours is left alone.
#
# Usage: scripts/deploy/wait-for-rollout.sh <cluster-name>
#   ROLLOUT_TIMEOUT=30m scripts/deploy/wait-for-rollout.sh sdp-prod   # default 20m
set -euo pipefail

# Every StreamApp Deployment carries this label (test/stacks/rollout-safety.test.ts checks it).
APP_SELECTOR="${APP_SELECTOR:-app.kubernetes.io/part-of=streaming-data-platform}"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-20m}"

fail() { echo "wait-for-rollout: $*" >&2; exit 1; }
[ $# -eq 1 ] && [ -n "$1" ] || fail "usage: scripts/deploy/wait-for-rollout.sh <cluster-name>"
CLUSTER="$1"
for tool in aws kubectl; do command -v "$tool" > /dev/null || fail "'$tool' is not on PATH"; done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KUBECONFIG="$work/kubeconfig"
aws eks update-kubeconfig --name "$CLUSTER" --kubeconfig "$KUBECONFIG" > /dev/null

mapfile -t apps < <(kubectl get deployments --all-namespaces -l "$APP_SELECTOR" \
  -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}')
[ "${#apps[@]}" -gt 0 ] || fail "no Deployments labelled $APP_SELECTOR in cluster $CLUSTER"

declare -A pids
for app in "${apps[@]}"; do
  kubectl rollout status "deployment/${app#*/}" --namespace "${app%%/*}" --timeout="$ROLLOUT_TIMEOUT" > "$work/${app//\//_}.log" 2>&1 &
  pids[$app]=$!
done

failed=()
for app in "${apps[@]}"; do
  if wait "${pids[$app]}"; then
    echo "rolled out: $app"
  else
    failed+=("$app")
    echo "::group::NOT healthy: $app"
    cat "$work/${app//\//_}.log"
    kubectl get pods --namespace "${app%%/*}" -l "app.kubernetes.io/name=${app#*/}" -o wide || true
    kubectl get events --namespace "${app%%/*}" --sort-by=.lastTimestamp 2>/dev/null | tail -n 20 || true
    echo "::endgroup::"
  fi
done
[ "${#failed[@]}" -eq 0 ] || fail "did not become healthy within the progress deadline or ${ROLLOUT_TIMEOUT}: ${failed[*]}"
echo "wait-for-rollout: all ${#apps[@]} app Deployments of $CLUSTER are rolled out"
