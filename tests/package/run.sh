#!/usr/bin/env bash
# Installs ckpt from the source tree into a scratch prefix, then configures, builds and runs a
# consumer that uses find_package(ckpt).
set -euo pipefail
source_dir=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$source_dir" -B "$work/ckpt" -G Ninja -DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_BENCHMARKS=OFF \
  -DCKPT_BUILD_EXAMPLES=OFF -DCKPT_BUILD_TOOLS=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --install "$work/ckpt" >/dev/null
cmake -S "$source_dir/tests/package" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
"$work/consumer/consumer_hdf5"
echo "find_package(ckpt) consumer built and ran"
