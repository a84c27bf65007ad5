#!/usr/bin/env bash
# Installs what ckpt needs, then builds and runs the whole test suite twice: with g++ (warnings
# are errors), and with clang under AddressSanitizer and UndefinedBehaviorSanitizer.
# CKPT_SANITIZERS=0 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++
cmake --build build -j "$jobs"
ctest --test-dir build -j "$jobs" --output-on-failure

if [ "${CKPT_SANITIZERS:-1}" != "0" ]; then
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
    -DCKPT_SANITIZE=address,undefined -DCKPT_BUILD_BENCHMARKS=OFF
  cmake --build build-sanitize -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-sanitize -j "$jobs" --output-on-failure
fi
