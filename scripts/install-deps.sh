#!/usr/bin/env bash
# Installs every Debian package ckpt needs to build, test and benchmark.
# Idempotent: re-running it installs nothing new.
set -euo pipefail

packages=(
  build-essential cmake ninja-build g++ clang libclang-rt-dev
  libboost1.81-dev nlohmann-json3-dev libzstd-dev libsnappy-dev libhdf5-dev
  catch2 libbenchmark-dev
  libzip-dev
  python3 python3-numpy python3-h5py python3-protobuf protobuf-compiler libleveldb-dev
)
# h5verify (the independent HDF5 reader the tests run) needs node and npm; a machine may already
# have them from another source, which Debian's packages would conflict with.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
