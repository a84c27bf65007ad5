#!/usr/bin/env bash
# Lists the C++ sources (.hpp, .cpp under include/, tools/, tests/, examples/, benchmarks/) whose
# first line is not the licence line below; exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
expected="// SPDX-License-Identifier: Apache-2.0"
missing=0
while IFS= read -r -d '' file; do
  first=$(head -n 1 "$file")
  if [ "$first" != "$expected" ]; then
    echo "$file"
    missing=$((missing + 1))
  fi
done < <(find include tools tests examples benchmarks -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 | sort -z)
if [ "$missing" -gt 0 ]; then
  echo "$missing file(s) do not start with: $expected"
  exit 1
fi
echo "every C++ source starts with: $expected"
