#!/usr/bin/env bash
# Installs what ckpt needs on Debian 12, for one purpose:
#   install-deps.sh demo   the compiler and the libraries ckpt uses (enough for the examples, the
#                          tool and installing ckpt)
#   install-deps.sh test   also what the tests, fuzzers and benchmarks use: clang and its
#                          sanitizer runtimes, Catch2, Google Benchmark, and the independent
#                          checkers (python3 with numpy, h5py and protobuf; protoc; LevelDB; node
#                          with h5verify's npm dependency, installed into .deps/h5verify)
# One line per step; apt's and npm's output goes to .deps/install-deps.log, shown on failure.
# Idempotent: re-running it installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-}
case $purpose in
  demo | test) ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac

packages=(g++ cmake ninja-build libboost1.81-dev nlohmann-json3-dev libsnappy-dev
          libhdf5-dev libzip-dev libzstd-dev)
if [ "$purpose" = test ]; then
  packages+=(clang libclang-rt-dev catch2 libbenchmark-dev git
             python3 python3-numpy python3-h5py python3-protobuf protobuf-compiler libleveldb-dev)
  # h5verify runs on node; a machine may have node and npm from another source, which Debian's
  # packages would conflict with.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
fi

mkdir -p .deps
log=$PWD/.deps/install-deps.log
: >"$log"
say() { echo "install-deps ($purpose): $*"; }
run() {  # run COMMAND...: its output goes to the log; on failure the log's end is shown
  if ! "$@" >>"$log" 2>&1; then
    say "FAILED: $*"
    echo "--- the last lines of $log ---"
    tail -n 60 "$log"
    exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#packages[@]} Debian packages are installed"
else
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  say "apt-get update (log: .deps/install-deps.log)"
  run "${sudo[@]}" apt-get update
  say "installing ${#missing[@]} of ${#packages[@]} Debian packages: ${missing[*]}"
  run "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ "$purpose" = test ]; then
  # h5verify (../shared/tools/h5verify) reads HDF5 files with jsfive; installed here once, so
  # the tests never run npm (tests/CMakeLists.txt passes this folder as H5VERIFY_DEPS_DIR).
  jsfive=jsfive@0.4.2
  deps=.deps/h5verify
  if grep -qsE '"version": *"0\.4\.2"' "$deps/node_modules/jsfive/package.json"; then
    say "$jsfive for h5verify is installed in $deps"
  else
    say "npm install $jsfive into $deps"
    run npm install --prefix "$deps" --no-audit --no-fund --loglevel=error "$jsfive"
  fi
fi
