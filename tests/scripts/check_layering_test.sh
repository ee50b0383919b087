#!/usr/bin/env bash
# The layering check passes on the tree as it is, and fails, naming the file, line and
# modules, when an engine includes another engine or a lower module includes a higher one.
set -euo pipefail
source_dir=$1
check="$source_dir/scripts/check-layering"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$check" "$source_dir/src" "$source_dir/docs/design.md"

cp -r "$source_dir/src" "$work/src"
echo '#include "seal/tlv.hpp"' >>"$work/src/store/cid.cpp"
mkdir -p "$work/src/base"
echo '#include "chain/rlp.hpp"' >"$work/src/base/upward.cpp"
if "$check" "$work/src" "$source_dir/docs/design.md" 2>"$work/err"; then
  echo "FAIL: crossings were not reported" >&2
  exit 1
fi
grep -q 'store/cid.cpp:[0-9]*: store may not include seal' "$work/err"
grep -q 'base/upward.cpp:1: base may not include chain' "$work/err"
grep -q '2 include(s) cross' "$work/err"
echo "layering check: passes on src/, catches both crossings"
