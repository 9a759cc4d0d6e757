#!/usr/bin/env bash
# Side files never belong to two overlays (docs/format.md 2.2): an overlay's
# .meta and .base are OVERLAY.meta and OVERLAY.base.  The clash of issue 14:
# "hexz-diff -b base.st base.st vm.ov" used to write vm.meta and vm.base,
# the side files of an existing vm.overlay, which then showed 0 modified
# blocks.  Also refused: an overlay named like a side file (hexz-diff -b,
# the filter, hexz-mount), and a meta= that is another overlay's side file;
# hexz-commit --remove-overlay removes only its own overlay's files.
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack hexz-commit hexz-mount nbdsh cmp
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"
cd "$tmp"

head -c $((4 * 1024 * 1024)) /dev/urandom > base.img
hexz-pack base.img base.st > /dev/null

# write_blocks OVERLAY BLOCK...: one 4 KiB write per block through the filter.
write_blocks() {
  local ov=$1
  shift
  $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay="$ov" \
    --run "nbdsh -u \"\$uri\" -c 'for b in [$(IFS=,; echo "$*")]: h.pwrite(b\"x\" * 4096, b * 4096)' -c 'h.flush()'"
}

# blocks_of OVERLAY: the modified blocks hexz-diff reports, one per line.
blocks_of() {
  hexz-diff "$1" --json | /usr/bin/python3 -c 'import json, sys
for e in json.load(sys.stdin)["changed_extents"]:
    for b in range(e["offset"] // 4096, (e["offset"] + e["length"]) // 4096): print(b)'
}

write_blocks vm.overlay 1 5 9
printf '1\n5\n9\n' > want
blocks_of vm.overlay > got
cmp want got || fail "the first overlay does not report blocks 1 5 9: $(cat got)"

# The clash: an overlay of the same stem, written by hexz-diff -b and by the
# filter.  The first overlay keeps its blocks and its base record.
hexz-diff -b base.st base.st vm.ov > /dev/null || fail "hexz-diff -b base.st base.st vm.ov failed"
blocks_of vm.overlay > got
cmp want got || fail "hexz-diff -b base.st base.st vm.ov changed what vm.overlay reports: $(cat got)"
for f in vm.overlay.meta vm.overlay.base vm.ov.meta vm.ov.base; do
  [ -f $f ] || fail "no $f: side files are OVERLAY.meta and OVERLAY.base ($(ls))"
done
cp vm.overlay.base vm.base.saved
write_blocks vm.ov 2
[ "$(blocks_of vm.ov)" = 2 ] || fail "vm.ov does not report block 2: $(blocks_of vm.ov)"
blocks_of vm.overlay > got
cmp want got || fail "writing vm.ov through the filter changed vm.overlay: $(cat got)"
write_blocks vm 3
[ "$(blocks_of vm)" = 3 ] || fail "an overlay without extension does not report block 3"
blocks_of vm.overlay > got
cmp want got || fail "writing the overlay 'vm' changed vm.overlay: $(cat got)"

# An overlay named like a side file is refused by every writer, naming both
# files, before anything is written.
cp vm.overlay.meta meta.saved
expect_error 1 "vm.overlay.meta: an overlay must not be named.*side file of the overlay vm.overlay" \
  hexz-diff -f -b base.st base.st vm.overlay.meta
expect_error 1 "side file of the overlay vm.overlay" hexz-diff -f -b base.st base.st vm.overlay.base
cmp vm.overlay.meta meta.saved || fail "a refused hexz-diff -b changed vm.overlay.meta"
cmp vm.overlay.base vm.base.saved || fail "a refused hexz-diff -b changed vm.overlay.base"
expect_error 1 "side file of the overlay $tmp/vm.overlay" \
  $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=vm.overlay.meta --run true
expect_error 1 "side file of the overlay $tmp/x" \
  $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=x.base --run true
mkdir mnt
expect_error 1 "side file of the overlay $tmp/vm.overlay" hexz-mount --rw --overlay vm.overlay.meta base.st mnt
cmp vm.overlay.meta meta.saved || fail "a refused start changed vm.overlay.meta"

# meta= may not be another overlay's side file, nor the overlay's own files.
expect_error 1 "meta=$tmp/vm.overlay.meta: this is a side file of the overlay $tmp/vm.overlay, not of $tmp/other.overlay" \
  $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=other.overlay meta=vm.overlay.meta \
  --run true
expect_error 1 "this is the overlay" \
  $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=vm.overlay meta=vm.overlay --run true
cmp vm.overlay.meta meta.saved || fail "a refused meta= changed vm.overlay.meta"

# hexz-commit --remove-overlay vm.ov removes vm.ov's files and nothing else.
hexz-commit --base base.st --overlay vm.ov -o new.st --remove-overlay > /dev/null || fail "commit of vm.ov failed"
[ ! -e vm.ov ] && [ ! -e vm.ov.meta ] && [ ! -e vm.ov.base ] || fail "--remove-overlay left vm.ov's files: $(ls)"
blocks_of vm.overlay > got
cmp want got || fail "committing vm.ov changed vm.overlay: $(cat got)"
cmp vm.overlay.base vm.base.saved || fail "committing vm.ov changed vm.overlay.base"
