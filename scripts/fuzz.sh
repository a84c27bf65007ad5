#!/usr/bin/env bash
# A fuzzing campaign: scripts/fuzz.sh TARGET SECONDS
#   TARGET   a libFuzzer target of tests/fuzz/ without its fuzz_ prefix (hdf5, keras_zip, json,
#            safetensors, tf_checkpoint, savedmodel, object_graph, checkpoint_state), or `all`
#            for each in turn, SECONDS apiece.
# Builds the target (if anything changed) with clang at -O1 -g under AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/, a build folder of its own; runs it with -fork=JOBS
# for SECONDS from tests/fuzz/corpus/TARGET into the work corpus build-fuzz/fuzz/TARGET/corpus,
# with tests/fuzz/dict/TARGET.dict when there is one; keeps what it finds in
# build-fuzz/fuzz/TARGET/findings/ (crash-*, leak-*, timeout-*, oom-*; the campaign goes on after
# each); then merges the inputs that add coverage back into tests/fuzz/corpus/TARGET (-merge=1:
# only those, and the seeds stay as they are). One summary line per target (executions, exec/s,
# cov and ft from libFuzzer's last status line, corpus size, findings) is printed and appended to
# build-fuzz/fuzz.log. Exits 1 if anything was found.
# Environment: CKPT_FUZZ_JOBS (default: nproc) fuzzing processes; CKPT_FUZZ_BUILD_JOBS (default:
# nproc) compile jobs; CKPT_FUZZ_MERGE=0 leaves tests/fuzz/corpus alone; CKPT_FUZZ_BUILD
# (default: build-fuzz) the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=()
for source in tests/fuzz/fuzz_*.cpp; do
  name=${source##*/fuzz_}
  all_targets+=("${name%.cpp}")
done
usage() {
  echo "usage: $0 TARGET SECONDS   (TARGET: all or one of: ${all_targets[*]})" >&2
  exit 2
}
[ $# -eq 2 ] || usage
target=$1 seconds=$2
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then usage; fi
if [ "$target" = all ]; then
  targets=("${all_targets[@]}")
else
  [ -f "tests/fuzz/fuzz_$target.cpp" ] || usage
  targets=("$target")
fi
build=${CKPT_FUZZ_BUILD:-build-fuzz}
jobs=${CKPT_FUZZ_JOBS:-$(nproc)}

# -O1 -g: fast enough to fuzz, still exact stacks; _GLIBCXX_ASSERTIONS adds the standard library's
# bounds checks (operator[] inside a vector's capacity, which ASan cannot see).
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g -D_GLIBCXX_ASSERTIONS" -DCMAKE_CXX_COMPILER=clang++ \
  -DCKPT_SANITIZE=address,undefined -DCKPT_WITH_HDF5=ON -DCKPT_BUILD_FUZZERS=ON \
  -DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_BENCHMARKS=OFF -DCKPT_BUILD_EXAMPLES=OFF \
  -DCKPT_BUILD_TOOLS=OFF -DCKPT_INSTALL=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "${CKPT_FUZZ_BUILD_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

found_any=0
for name in "${targets[@]}"; do
  fuzzer=$build/tests/fuzz/fuzz_$name
  seeds=tests/fuzz/corpus/$name
  work=$build/fuzz/$name
  mkdir -p "$work/corpus" "$work/findings" "$seeds"
  # Seeds made from the fixtures stay out of the repository (tests/fuzz/make_seeds.cpp writes them
  # into build-fuzz/seeds); a campaign starts from them too when they are there.
  fixture_seeds=()
  if [ -d "$build/seeds/$name" ]; then fixture_seeds=("$build/seeds/$name"); fi
  dict=()
  if [ -f "tests/fuzz/dict/$name.dict" ]; then
    # The .keras archive's weights member is an HDF5 file: its fuzzer gets both dictionaries.
    cat "tests/fuzz/dict/$name.dict" >"$work/fuzz.dict"
    if [ "$name" = keras_zip ]; then cat tests/fuzz/dict/hdf5.dict >>"$work/fuzz.dict"; fi
    dict=(-dict="$work/fuzz.dict")
  fi
  before=$(find "$work/findings" -type f | wc -l)
  log=$work/fuzz-$(date -u +%Y%m%dT%H%M%SZ).log
  echo "fuzz_$name: fuzzing for $seconds s with $jobs process(es); log: $log"
  # Findings are counted from the folder, not the status: -ignore_* keeps the campaign going.
  "$fuzzer" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -artifact_prefix="$work/findings/" "${dict[@]}" "$work/corpus" "$seeds" "${fixture_seeds[@]}" \
    >"$log" 2>&1 </dev/null || true
  # The last status line of the fork mode's parent:
  #   #RUNS: cov: N ft: N corp: N exec/s: N oom/timeout/crash: O/T/C time: Ss job: J ...
  status=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -n 1 || true)
  if [ -z "$status" ]; then
    tail -n 40 "$log"
    echo "fuzz_$name: the fuzzer printed no status (log: $log)"
    exit 1
  fi
  field() { sed -E "s/.*$1:? ([0-9/]+).*/\\1/" <<<"$status"; }
  runs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$status")
  elapsed=$(sed -E 's/.* time: ([0-9]+)s.*/\1/' <<<"$status")
  rate=$((runs / (elapsed > 0 ? elapsed : 1)))
  findings=$(($(find "$work/findings" -type f | wc -l) - before))
  grown=$(find "$work/corpus" -type f | wc -l)
  merged="not merged"
  if [ "${CKPT_FUZZ_MERGE:-1}" != 0 ]; then
    seeds_before=$(find "$seeds" -type f | wc -l)
    "$fuzzer" -merge=1 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -artifact_prefix="$work/findings/" "$seeds" "$work/corpus" >"$work/merge.log" 2>&1 </dev/null ||
      { tail -n 40 "$work/merge.log"; echo "fuzz_$name: merge failed (log: $work/merge.log)"; exit 1; }
    merged="$(($(find "$seeds" -type f | wc -l) - seeds_before)) merged into $seeds"
  fi
  summary="fuzz_$name: ${elapsed} s, $runs executions, $rate exec/s, cov $(field cov), ft $(field ft), corpus $(field corp) inputs ($grown in $work/corpus, $merged), findings $findings"
  if [ "$findings" -gt 0 ]; then
    summary+=" in $work/findings/"
    found_any=1
  fi
  echo "$summary"
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD 2>/dev/null || echo '-') jobs=$jobs $summary" >>"$build/fuzz.log"
done
exit "$found_any"
