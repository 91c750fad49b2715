#!/usr/bin/env bash
# Installs actionlint (the GitHub Actions workflow linter) into the project's tool cache, built
# from source with the Go toolchain through the Go module proxy. Idempotent: a cached binary of
# the pinned version is reused. Prints the binary's path on stdout.
# Usage: scripts/ci/install-actionlint.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

ACTIONLINT_VERSION=1.7.12
bin="$SDP_CACHE_DIR/bin/actionlint-$ACTIONLINT_VERSION"

if [ ! -x "$bin" ]; then
  command -v go >/dev/null 2>&1 || { echo "actionlint needs the Go toolchain (https://go.dev/dl/) on PATH" >&2; exit 2; }
  log "building actionlint $ACTIONLINT_VERSION into $SDP_CACHE_DIR/bin"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" >&2
  mv "$tmp/actionlint" "$bin"
fi
ln -sf "$bin" "$SDP_CACHE_DIR/bin/actionlint"
echo "$bin"
