#!/usr/bin/env bash
# Installs everything Soundalike needs on a Debian machine with Node.js. Idempotent: a second run
# only checks. Used by `npm test`, `npm run demo` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: ffmpeg decodes every input; fluidsynth + a General-MIDI soundfont render the
# synthetic corpus; libfaiss-dev/libopenblas-dev/cmake/patchelf/g++ build faiss-node; python3-numpy,
# python3-onnx and python3-faiss are independent references for tests and benchmarks; yt-dlp fetches
# links for the bot; sox measures audio in tests; redis-server is the job queue's engine (the queue
# tests start a private one; a deployment over several processes runs one); openssl hashes catalog
# files for the reindex (3x faster than in-process; without it the reindex hashes in-process).
APT_PACKAGES=(ffmpeg fluidsynth fluid-soundfont-gm libfaiss-dev libopenblas-dev cmake patchelf patch g++ make
  python3 python3-numpy python3-onnx python3-faiss sox yt-dlp redis-server openssl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
      echo "setup: run 'apt-get install ${missing[*]}' as root, then run this again" >&2
      exit 1
    }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages. Install scripts are off: onnxruntime-node's downloads CUDA files and faiss-node's
# clones faiss from GitHub, neither reachable here; the CPU build of onnxruntime ships in the package
# and faiss-node is built below against Debian's libfaiss.
stamp=node_modules/.soundalike-install
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: installing npm packages"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
# node_modules/.bin/deno: npm's shim runs the binary with spawnSync and passes no signal on (a SIGTERM
# to `deno task bot` left the bot running); scripts/deno_bin.cjs forwards them. The shim installs the
# binary on first use.
if [ ! -x node_modules/deno/deno ]; then node node_modules/deno/bin.cjs --version >/dev/null; fi
if [ "$(readlink node_modules/.bin/deno)" != "../../scripts/deno_bin.cjs" ]; then
  ln -sf ../../scripts/deno_bin.cjs node_modules/.bin/deno
fi
bash scripts/build_faiss.sh
