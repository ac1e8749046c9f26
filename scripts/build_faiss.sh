#!/usr/bin/env bash
# Builds faiss-node's native addon against Debian's libfaiss-dev, with Soundalike's source patch
# (scripts/faiss_shim/faiss_node.patch: train/add/search take a Float32Array in place, IVF nprobe
# setter, faiss's standard error captured per index, C++ exceptions turned into JS errors).
# Idempotent: does nothing when the addon loads and was built from the current shim files (a stamp
# in the build folder holds their hash); otherwise restores faiss-node's pristine src/faiss.cc,
# applies the patch and rebuilds. Needs the Debian packages from scripts/setup.sh and `npm ci` first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/node_modules/faiss-node"
shim="$root/scripts/faiss_shim"
patch_file="$shim/faiss_node.patch"
# sha256 of src/faiss.cc in faiss-node 0.5.1 as published on npm: the patch is made against it.
pristine_sha=b6c71f71706005e50b1e876658ec2e102716c00d5028cc0e8579bae54058b5ef
src="$pkg/src/faiss.cc"
pristine="$pkg/src/faiss.cc.pristine" # kept beside it, so that a changed patch can be re-applied
stamp_file="$pkg/build/soundalike_shim.sha256"

fail() {
  echo "build_faiss: $*" >&2
  exit 1
}
[ -d "$pkg" ] || fail "node_modules/faiss-node is missing: run npm ci first"
stamp=$(cat "$shim/CMakeLists.txt" "$shim/faiss_compat.h" "$patch_file" | sha256sum | cut -d' ' -f1)
loads() { node -e 'require(process.argv[1] + "/build/Release/faiss-node.node")' "$pkg" 2>/dev/null; }
if [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ] && loads; then
  exit 0
fi

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
if [ ! -f "$pristine" ]; then
  [ "$(sha_of "$src")" = "$pristine_sha" ] ||
    fail "node_modules/faiss-node/src/faiss.cc is not faiss-node 0.5.1's and no pristine copy is kept: reinstall the package (npm ci)"
  cp "$src" "$pristine"
fi
[ "$(sha_of "$pristine")" = "$pristine_sha" ] || fail "$pristine is not faiss-node 0.5.1's src/faiss.cc: reinstall the package (npm ci)"
command -v patch > /dev/null || fail "the 'patch' command is missing: run scripts/setup.sh"
cp "$pristine" "$src"
patch -d "$pkg" -p1 --forward --fuzz=0 --no-backup-if-mismatch --quiet < "$patch_file" ||
  fail "scripts/faiss_shim/faiss_node.patch does not apply to faiss-node 0.5.1's src/faiss.cc"

mkdir -p "$pkg/deps/faiss"
cp "$shim/CMakeLists.txt" "$shim/faiss_compat.h" "$pkg/deps/faiss/"
rm -f "$stamp_file"
cd "$pkg"
"$root/node_modules/.bin/cmake-js" compile -p "$(nproc)" > "$root/node_modules/.faiss-build.log" 2>&1 || {
  tail -30 "$root/node_modules/.faiss-build.log" >&2
  fail "the faiss-node build failed (full log: node_modules/.faiss-build.log)"
}
loads || fail "the built addon does not load (build log: node_modules/.faiss-build.log)"
echo "$stamp" > "$stamp_file"
echo "build_faiss: faiss-node built against Debian's libfaiss, with scripts/faiss_shim/faiss_node.patch"
