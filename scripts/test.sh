#!/usr/bin/env bash
# Installs what the tests need, then builds and runs the whole test suite twice: with g++ in
# build/ (Release, warnings are errors; the package tests run here, once), and with clang under
# AddressSanitizer and UndefinedBehaviorSanitizer in build-sanitize/, which also runs each
# libFuzzer target for CKPT_FUZZ_SECONDS (default 15; the TensorFlow .index parser at least 30)
# from its seed corpus and with its dictionary, the fuzzers side by side (long campaigns:
# scripts/fuzz.sh). The examples run in the first pass only (they are programs like the tests'
# and would double the second pass's build for little more code).
# CKPT_SANITIZERS=0 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh test
jobs=$(nproc)
# Where the time goes, for CI's log: each step's end, in seconds since the start.
step() { echo "test.sh: $1 done at ${SECONDS} s"; }
step "installing dependencies"
# Every independent checker was just installed: a test that finds one missing fails.
export CKPT_REQUIRE_CHECKERS=1

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ -DCKPT_WITH_HDF5=ON \
  -DCKPT_BUILD_TESTS=ON -DCKPT_BUILD_BENCHMARKS=ON -DCKPT_PACKAGE_TESTS=ON
cmake --build build -j "$jobs"
step "the g++ build"
ctest --test-dir build -j "$jobs" --output-on-failure
step "the g++ tests"

if [ "${CKPT_SANITIZERS:-1}" != "0" ]; then
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
    -DCKPT_SANITIZE=address,undefined -DCKPT_WITH_HDF5=ON -DCKPT_BUILD_TESTS=ON -DCKPT_BUILD_BENCHMARKS=OFF \
    -DCKPT_BUILD_EXAMPLES=OFF \
    -DCKPT_BUILD_FUZZERS=ON -DCKPT_PACKAGE_TESTS=OFF
  cmake --build build-sanitize -j "$jobs"
  step "the sanitizer build"

  seconds=${CKPT_FUZZ_SECONDS:-15}
  fuzz_run() {  # fuzz_run FUZZER: runs it; on failure its log's end is shown and the crash input kept
    local fuzzer=$1 format=${1##*/fuzz_} time=$seconds work
    # The TensorBundle parser (.index + data), the one every TensorFlow file goes through, gets twice.
    if [ "$format" = tf_checkpoint ] && [ "$time" -lt 30 ]; then time=30; fi
    work=$(mktemp -d)
    mkdir "$work/corpus"
    local dict=()
    if [ -f "tests/fuzz/dict/$format.dict" ]; then dict=(-dict="tests/fuzz/dict/$format.dict"); fi
    if ! "$fuzzer" "${dict[@]}" -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -artifact_prefix="$work/" "$work/corpus" "tests/fuzz/corpus/$format" >"$work.log" 2>&1 </dev/null; then
      tail -n 60 "$work.log"
      echo "fuzz_$format: FAILED (crash input in $work)"
      return 1
    fi
    echo "fuzz_$format: $(grep -E '^Done [0-9]+ runs' "$work.log")"
    rm -rf "$work" "$work.log"
  }
  # The fuzzers run side by side, one per core, the longest first.
  failures=$(mktemp -d)
  declare -A started=()
  for fuzzer in build-sanitize/tests/fuzz/fuzz_tf_checkpoint build-sanitize/tests/fuzz/fuzz_*; do
    if [ ! -f "$fuzzer" ] || [ ! -x "$fuzzer" ] || [ -n "${started[$fuzzer]:-}" ]; then continue; fi
    started[$fuzzer]=1
    (fuzz_run "$fuzzer" || touch "$failures/failed") &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  done
  wait
  if [ -e "$failures/failed" ]; then exit 1; fi
  rm -rf "$failures"
  step "fuzzing"

  # Last, so the suite's summary closes the output.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-sanitize -j "$jobs" --output-on-failure
fi
