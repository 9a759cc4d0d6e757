#!/usr/bin/env bash
# hexz-diff overlay mode without file resolution: the default and --blocks
# output formats, --json, a missing .meta, a missing overlay, a malformed
# .meta, --meta, usage errors.  Counts and sizes are checked against values
# computed from the .meta file with stat/od/awk.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires perl od stat awk

cd "$tmp"
truncate -s 64M vm-state.overlay
blocks=()
for i in $(seq 0 5119); do blocks+=($((i * 3 + 128))); done
write_meta vm-state.overlay.meta "${blocks[@]}"

n=$(( $(stat -c %s vm-state.overlay.meta) / 8 ))
size=$(human_size $((n * 4096)))
[ "$n" = 5120 ] && [ "$size" = "20.0 MB" ] || fail "reference computation is off ($n, $size)"

hexz-diff vm-state.overlay > out
printf 'Overlay: "vm-state.overlay"\nModified Blocks: %s\nEstimated Size: %s\n' "$n" "$size" > want
cmp out want || { diff -u want out; fail "default output"; }

hexz-diff vm-state.overlay --blocks > out
printf -- '--- Overlay Statistics ---\nModified Blocks: %s\nTotal Changed Data: %s\n' "$n" "$size" > want
cmp out want || { diff -u want out; fail "--blocks output"; }

hexz-diff --json vm-state.overlay > out
grep -q "\"modified_blocks\":$n," out || fail "--json count: $(cat out)"
grep -q "\"size\":\"$size\"" out || fail "--json size: $(cat out)"

# Sizes across units: 1 block, 256 blocks (1.0 MB), 300 blocks.
for count in 1 256 300; do
  write_meta small.meta $(seq 10 $((10 + count - 1)))
  hexz-diff vm-state.overlay --meta small.meta > out
  grep -qx "Modified Blocks: $(( $(stat -c %s small.meta) / 8 ))" out || fail "--meta count ($count)"
  grep -qx "Estimated Size: $(human_size $((count * 4096)))" out || fail "size of $count blocks: $(cat out)"
done

# --files without a base record or --base: the block list and a hint.
write_meta vm-state.overlay.meta 5 9 4096
hexz-diff vm-state.overlay --files > out
meta_blocks vm-state.overlay.meta | sed 's/^/  Block /' > want.list
sed -n '/^Modified Block Indices:$/,/^$/p' out | sed 1d | sed '/^$/d' > got.list
cmp got.list want.list || { diff -u want.list got.list; fail "--files block list without a base"; }
grep -q -- "--base" out || fail "--files without a base does not say how to get file names"

# A missing .meta: zero modifications, said so, exit 0.
rm vm-state.overlay.meta
hexz-diff vm-state.overlay > out
grep -qx 'Modified Blocks: 0' out || fail "missing .meta: count"
grep -qx 'Estimated Size: 0.0 B' out || fail "missing .meta: size"
grep -qi 'no .meta' out || fail "missing .meta is not mentioned"

# Errors: exit 1 with a message naming the file.
set +e
hexz-diff missing.overlay 2> err; rc=$?
set -e
[ $rc = 1 ] || fail "missing overlay: exit $rc"
grep -q 'missing.overlay' err || fail "missing overlay: message: $(cat err)"

printf 'abc' > vm-state.overlay.meta
set +e
hexz-diff vm-state.overlay 2> err; rc=$?
set -e
[ $rc = 1 ] || fail "malformed .meta (length): exit $rc"
grep -q 'vm-state.overlay.meta' err && grep -q 'multiple of 8' err || fail "malformed .meta message: $(cat err)"

write_meta vm-state.overlay.meta 9 5
set +e
hexz-diff vm-state.overlay --blocks 2> err; rc=$?
set -e
[ $rc = 1 ] || fail "malformed .meta (order): exit $rc"
grep -q 'out of order' err || fail "unsorted .meta message: $(cat err)"

# Usage: exit 2.
for args in "" "a b" "--bogus x" "x --blocks --files"; do
  set +e
  hexz-diff $args > /dev/null 2>&1; rc=$?
  set -e
  [ $rc = 2 ] || fail "usage error '$args': exit $rc"
done
hexz-diff --help | grep -q 'Usage:' || fail "--help"
hexz-diff --version | grep -q '^hexz-diff ' || fail "--version"
