#!/usr/bin/env bash
# Runs README.md's "Installing" commands as written, on a copy of SOURCE_DIR, with HOME in a
# scratch folder (so ~/.local is the scratch prefix), then builds and runs the consumer that
# README.md's "Using it from CMake" section shows, as CMakeLists.txt, with
# tests/package/consumer/consumer_hdf5.cpp as its main.cpp.
#
#   readme_install.sh SOURCE_DIR
#
# The README's optional `cmake --build ... --target ckpt_tool` line is left out (the test
# suite builds the tool anyway); the install must then work without it, and say so.
set -euo pipefail
source_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-readme-XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/log

fail() {
  echo "FAILED: $*"
  echo "--- last output ---"
  tail -n 40 "$log"
  exit 1
}

# The first ```LANG block after the heading "## SECTION" of README.md.
readme_block() {
  awk -v section="## $1" -v fence="\`\`\`$2" '
    $0 == section { in_section = 1; next }
    in_section && /^## / { exit }
    in_section && !in_block && $0 == fence { in_block = 1; next }
    in_block && /^```/ { exit }
    in_block { print }' "$source_dir/README.md"
}

# A fresh checkout: the files git knows, without build folders.
mkdir "$work/ckpt" "$work/home"
if git -C "$source_dir" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$source_dir" && git ls-files -co --exclude-standard -z |
    while IFS= read -r -d '' file; do if [ -f "$file" ]; then printf '%s\0' "$file"; fi; done |
    xargs -0 cp --parents -t "$work/ckpt")
else
  cp -r "$source_dir/." "$work/ckpt"
fi

commands=$(readme_block Installing sh | sed 's/[[:space:]]*#.*$//' | grep '^cmake ' | grep -v -- '--build' || true)
[ -n "$commands" ] || fail "no cmake commands in README.md's Installing section"
while IFS= read -r command; do
  echo "\$ $command"
  (cd "$work/ckpt" && HOME="$work/home" bash -c "$command") >"$log" 2>&1 || fail "$command"
done <<<"$commands"
grep -q "Not installing the ckpt tool: it is not built" "$log" || fail "the install did not say it left out the unbuilt tool"

prefix=$work/home/.local
for installed in include/ckpt/ckpt.hpp include/ckpt/hdf5.hpp share/doc/ckpt/LICENSE; do
  [ -f "$prefix/$installed" ] || fail "the install has no $installed"
done
echo "installed into ~/.local: headers, CMake package, LICENSE"

mkdir "$work/app" "$work/files"
readme_block "Using it from CMake" cmake >"$work/app/CMakeLists.txt"
grep -q find_package "$work/app/CMakeLists.txt" || fail "no find_package snippet in README.md's \"Using it from CMake\""
cp "$here/consumer/consumer_hdf5.cpp" "$work/app/main.cpp"
echo "README consumer:"
cat "$work/app/CMakeLists.txt"
cmake -S "$work/app" -B "$work/app/build" -DCMAKE_PREFIX_PATH="$prefix" >"$log" 2>&1 || fail "configure the README consumer"
cmake --build "$work/app/build" >"$log" 2>&1 || fail "build the README consumer"
"$work/app/build/app" "$work/files" >"$log" 2>&1 || fail "run the README consumer"
cat "$log"
echo "README install and consumer built and ran"
