#!/usr/bin/env bash
# Installs what ckpt needs, then builds and runs the whole test suite twice: with g++ (warnings
# are errors), and with clang under AddressSanitizer and UndefinedBehaviorSanitizer.
# The sanitizer pass also runs each libFuzzer target for CKPT_FUZZ_SECONDS (default 30) from its
# seed corpus. CKPT_SANITIZERS=0 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++
cmake --build build -j "$jobs"
ctest --test-dir build -j "$jobs" --output-on-failure

if [ "${CKPT_SANITIZERS:-1}" != "0" ]; then
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
    -DCKPT_SANITIZE=address,undefined -DCKPT_BUILD_BENCHMARKS=OFF -DCKPT_BUILD_FUZZERS=ON
  cmake --build build-sanitize -j "$jobs"

  for fuzzer in build-sanitize/tests/fuzz/fuzz_*; do
    [ -f "$fuzzer" ] || continue
    format=${fuzzer##*/fuzz_}
    work=$(mktemp -d)
    seconds=${CKPT_FUZZ_SECONDS:-30}
    # The TensorBundle parser (.index + data) is fuzzed for at least a minute.
    if [ "$format" = tf_checkpoint ] && [ "$seconds" -lt 60 ]; then seconds=60; fi
    if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=512 "$work" "tests/fuzz/corpus/$format" >"$work.log" 2>&1; then
      tail -n 60 "$work.log"
      echo "fuzz_$format: FAILED (crash input in $PWD)"
      exit 1
    fi
    echo "fuzz_$format: $(grep -E '^Done [0-9]+ runs' "$work.log")"
    rm -rf "$work" "$work.log"
  done

  # Last, so the suite's summary closes the output.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-sanitize -j "$jobs" --output-on-failure
fi
