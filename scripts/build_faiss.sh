#!/usr/bin/env bash
# Builds faiss-node's native addon against Debian's libfaiss-dev. Idempotent: does nothing when the
# addon already loads. Needs the Debian packages from scripts/setup.sh and `npm ci` done first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/node_modules/faiss-node"
[ -d "$pkg" ] || { echo "build_faiss: node_modules/faiss-node is missing: run npm ci first" >&2; exit 1; }
if node -e 'require(process.argv[1] + "/build/Release/faiss-node.node")' "$pkg" 2>/dev/null; then
  exit 0
fi
mkdir -p "$pkg/deps/faiss"
cp "$root/scripts/faiss_shim/CMakeLists.txt" "$root/scripts/faiss_shim/faiss_compat.h" "$pkg/deps/faiss/"
cd "$pkg"
"$root/node_modules/.bin/cmake-js" compile -p "$(nproc)" > "$root/node_modules/.faiss-build.log" 2>&1 || {
  tail -30 "$root/node_modules/.faiss-build.log" >&2
  echo "build_faiss: the faiss-node build failed (full log: node_modules/.faiss-build.log)" >&2
  exit 1
}
node -e 'require(process.argv[1] + "/build/Release/faiss-node.node")' "$pkg"
echo "build_faiss: faiss-node built against Debian's libfaiss"
