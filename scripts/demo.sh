#!/usr/bin/env bash
# Installs what ckpt needs, builds the quick-start example and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --target quickstart
./build/examples/quickstart
