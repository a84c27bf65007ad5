#!/usr/bin/env bash
# Builds and runs the project in tests/package/consumer, which gets ckpt as a user's project would.
#
#   run.sh MODE with|without SOURCE_DIR [HDF5_INCLUDE_DIR]
#
# MODE is find_package (from an install of SOURCE_DIR into a scratch prefix), add_subdirectory
# or FetchContent (SOURCE_DIR). "with" links ckpt::hdf5; "without" links ckpt::ckpt alone and
# hides libhdf5 from CMake, as on a machine without libhdf5-dev (HDF5_INCLUDE_DIR, the folder of
# hdf5.h, goes into CMAKE_IGNORE_PATH), then checks that the program needs no libhdf5, libzip or
# libzstd. CMAKE_GENERATOR and CXX come from the environment.
set -euo pipefail
mode=$1 hdf5=$2 source_dir=$3 hidden=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-package-XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/log

fail() {
  echo "FAILED: $*"
  echo "--- last output ---"
  tail -n 40 "$log"
  exit 1
}
step() {  # step DESCRIPTION COMMAND...: runs COMMAND with its output in the log
  local what=$1
  shift
  echo "$what"
  "$@" >"$log" 2>&1 || fail "$what"
}

consumer_options=(-DCONSUMER_GETS_CKPT_BY="$mode" -DCONSUMER_CKPT_SOURCE_DIR="$source_dir")
if [ "$hdf5" = with ]; then
  consumer_options+=(-DCONSUMER_WITH_HDF5=ON)
  program=consumer_hdf5
else
  consumer_options+=(-DCONSUMER_WITH_HDF5=OFF)
  program=consumer
  if [ -n "$hidden" ]; then consumer_options+=(-DCMAKE_IGNORE_PATH="$hidden"); fi
fi

if [ "$mode" = find_package ]; then
  ckpt_options=(-DCMAKE_INSTALL_PREFIX="$work/prefix" -DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_BENCHMARKS=OFF
                -DCKPT_BUILD_EXAMPLES=OFF -DCKPT_BUILD_TOOLS=OFF)
  if [ "$hdf5" = without ] && [ -n "$hidden" ]; then ckpt_options+=(-DCMAKE_IGNORE_PATH="$hidden"); fi
  step "configure ckpt" cmake -S "$source_dir" -B "$work/ckpt" "${ckpt_options[@]}"
  if [ "$hdf5" = without ] && [ -n "$hidden" ]; then
    grep -q "building without ckpt::hdf5" "$log" || fail "ckpt did not say it builds without ckpt::hdf5"
  fi
  step "install ckpt" cmake --install "$work/ckpt"
  consumer_options+=(-DCMAKE_PREFIX_PATH="$work/prefix")
fi

step "configure the consumer ($mode, $hdf5 HDF5)" \
  cmake -S "$here/consumer" -B "$work/consumer" "${consumer_options[@]}"
if [ "$hdf5" = without ] && [ -n "$hidden" ] && [ "$mode" != find_package ]; then
  grep -q "building without ckpt::hdf5" "$log" || fail "ckpt did not say it builds without ckpt::hdf5"
fi
step "build the consumer" cmake --build "$work/consumer"
mkdir "$work/files"
step "run $program" "$work/consumer/$program" "$work/files"
cat "$log"

needed=$(readelf -d "$work/consumer/$program" | grep NEEDED || true)
if [ "$hdf5" = with ]; then
  grep -q libhdf5 <<<"$needed" || fail "$program does not link libhdf5: $needed"
else
  if grep -E 'libhdf5|libzip|libzstd' <<<"$needed"; then fail "$program links libraries only ckpt::hdf5 needs"; fi
  # An installed ckpt looks for libhdf5 only for a consumer that asks for the hdf5 component.
  if [ "$mode" = find_package ] && grep -q '^CKPT_HDF5_INCLUDE_DIR' "$work/consumer/CMakeCache.txt"; then
    fail "find_package(ckpt) without COMPONENTS hdf5 looked for libhdf5"
  fi
  echo "$program needs no libhdf5, libzip or libzstd"
fi

if [ "$mode" = find_package ] && [ "$hdf5" = without ] && [ -n "$hidden" ]; then
  # That install has no hdf5 component: asking for it must fail and say why.
  if cmake -S "$here/consumer" -B "$work/consumer_asks_hdf5" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCONSUMER_WITH_HDF5=ON >"$log" 2>&1; then
    fail "find_package(ckpt COMPONENTS hdf5) succeeded on an install without HDF5"
  fi
  grep -q "installed without its hdf5 component" "$log" || fail "find_package(ckpt COMPONENTS hdf5) failed without the reason"
  echo "find_package(ckpt COMPONENTS hdf5) on that install fails and says why"
fi

if [ "$mode" != find_package ]; then
  # In another project ckpt installs nothing unless CKPT_INSTALL is turned on.
  step "install the consumer" cmake --install "$work/consumer" --prefix "$work/consumer_prefix"
  if [ -e "$work/consumer_prefix/include/ckpt" ]; then fail "ckpt installed its headers as a subproject"; fi
  echo "ckpt installs nothing as a subproject"
fi
echo "consumer built and ran ($mode, $hdf5 HDF5)"
