# Shared helpers for the project's shell entry points.
# Downloads and tools are cached under the user's cache dir so a second run is fast.
SDP_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/streaming-data-platform"
mkdir -p "$SDP_CACHE_DIR/bin"
export PATH="$SDP_CACHE_DIR/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

CHECKOV_VERSION=3.3.30
PARLIAMENT_VERSION=1.6.4

# Installs a PyPI tool into its own cached virtualenv (never into the system Python) and links
# its command into the cache's bin.
ensure_pip_tool() { # package version
  local venv="$SDP_CACHE_DIR/$1-$2"
  if [ ! -x "$venv/bin/$1" ]; then
    log "installing $1 $2 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$1==$2"
  fi
  ln -sf "$venv/bin/$1" "$SDP_CACHE_DIR/bin/$1"
}

ensure_checkov() { ensure_pip_tool checkov "$CHECKOV_VERSION"; }
# parliament: the IAM policy linter behind `npm run lint:iam`.
ensure_parliament() { ensure_pip_tool parliament "$PARLIAMENT_VERSION"; }

# promtool comes from Debian's prometheus package.
ensure_promtool() {
  if ! command -v promtool >/dev/null 2>&1; then
    log "installing promtool (Debian package prometheus)"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # The package starts a Prometheus server we do not need.
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || $sudo pkill -x prometheus >/dev/null 2>&1 || true
  fi
}

# helm (to render the local chart in tests), built from source through the Go module proxy.
HELM_VERSION=3.17.4
ensure_helm() {
  local bin="$SDP_CACHE_DIR/bin/helm-$HELM_VERSION"
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null 2>&1 || { echo "helm needs the Go toolchain on PATH" >&2; return 2; }
    log "building helm $HELM_VERSION into $SDP_CACHE_DIR/bin (first run only)"
    local tmp; tmp="$(mktemp -d)"
    GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2 && mv "$tmp/helm" "$bin"
    rm -rf "$tmp"
  fi
  ln -sf "$bin" "$SDP_CACHE_DIR/bin/helm"
}

# terraform from PATH; where missing, OpenTofu built through the Go module proxy. Prints its path.
OPENTOFU_VERSION=1.10.7
ensure_terraform() {
  if command -v terraform >/dev/null 2>&1; then command -v terraform; return; fi
  local bin="$SDP_CACHE_DIR/bin/tofu-$OPENTOFU_VERSION"
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null 2>&1 || { echo "no terraform on PATH: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install), or the Go toolchain to build OpenTofu" >&2; return 2; }
    log "no terraform on PATH: building OpenTofu $OPENTOFU_VERSION into $SDP_CACHE_DIR/bin (first run only)"
    local tmp; tmp="$(mktemp -d)"
    if ! GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/opentofu/opentofu/cmd/tofu@v$OPENTOFU_VERSION" >&2; then
      rm -rf "$tmp"
      echo "no terraform on PATH and OpenTofu $OPENTOFU_VERSION did not build: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)" >&2
      return 2
    fi
    mv "$tmp/tofu" "$bin"; rm -rf "$tmp"
  fi
  echo "$bin"
}

# The schema-driven mock of the aws, kubernetes and helm providers (tools/mock-provider), built
# once per source change through the Go module proxy. Prints its path.
ensure_mock_provider() {
  command -v go >/dev/null 2>&1 || { echo "the mock provider needs the Go toolchain (https://go.dev/dl/) on PATH" >&2; return 2; }
  local src="tools/mock-provider" hash
  hash=$(cat "$src"/go.mod "$src"/go.sum "$src"/*.go | sha256sum | cut -c1-16)
  local bin="$SDP_CACHE_DIR/bin/mock-provider-$hash"
  if [ ! -x "$bin" ]; then
    log "building the mock Terraform provider into $SDP_CACHE_DIR/bin"
    (cd "$src" && GOFLAGS=-buildvcs=false go build -o "$bin.tmp" .) >&2 && mv "$bin.tmp" "$bin" || return 2
  fi
  echo "$bin"
}

# Node 24 (the image's runtime) from the npm registry's node-linux-<arch> package, so `npm test`
# can run the apps' unit tests on it where the machine's own Node is older. Prints its path.
NODE24_VERSION=24.22.3
ensure_node24() {
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "no node-linux package for $(uname -m)" >&2; return 2 ;;
  esac
  local dir="$SDP_CACHE_DIR/node-v$NODE24_VERSION-linux-$arch"
  if [ ! -x "$dir/bin/node" ]; then
    log "installing Node $NODE24_VERSION (npm package node-linux-$arch) into $dir"
    local tmp; tmp="$(mktemp -d)"
    # npm pack checks the tarball against the registry's integrity hash.
    if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE24_VERSION" >/dev/null && tar xzf "node-linux-$arch-$NODE24_VERSION.tgz"); then
      rm -rf "$tmp"; echo "could not fetch node-linux-$arch@$NODE24_VERSION from the npm registry" >&2; return 2
    fi
    rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
  fi
  echo "$dir/bin/node"
}

# The Flink peer job of `npm run bench -- --flink` (scripts/bench/flink), one shaded jar built
# with Maven from Maven Central, cached by the hash of its sources. Prints its path.
ensure_flink_bench_jar() {
  command -v mvn >/dev/null 2>&1 || { echo "the Flink bench job needs Maven and a JDK 17 on PATH (Debian: apt-get install maven)" >&2; return 2; }
  local src="scripts/bench/flink" hash
  hash=$(cd "$src" && find pom.xml src -type f | sort | xargs cat | sha256sum | cut -c1-16)
  local jar="$SDP_CACHE_DIR/flink-bench/flink-peer-$hash.jar"
  if [ ! -f "$jar" ]; then
    log "building the Flink bench job into $jar (first run only)"
    mkdir -p "$SDP_CACHE_DIR/flink-bench"
    (cd "$src" && mvn -B -q package) >&2 || return 2
    mv "$src/target/flink-peer.jar" "$jar.tmp" && mv "$jar.tmp" "$jar"
  fi
  echo "$jar"
}
