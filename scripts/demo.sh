#!/usr/bin/env bash
# Installs the compiler and the libraries ckpt uses, then builds and runs the quick-start example
# (examples/quickstart.cpp) in build-demo/, a build folder of its own: the tests' build folders
# keep their own settings.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh demo
echo "demo: configuring build-demo (Release)"
cmake -S . -B build-demo -G Ninja --log-level=NOTICE -DCMAKE_BUILD_TYPE=Release -DCKPT_WITH_HDF5=ON \
  -DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_BENCHMARKS=OFF
echo "demo: building examples/quickstart.cpp"
cmake --build build-demo --target quickstart
echo "demo: running it"
./build-demo/examples/quickstart
