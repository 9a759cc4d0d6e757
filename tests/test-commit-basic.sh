#!/usr/bin/env bash
# hexz-commit thick and thin: the committed snapshot, served back by the hexz
# plugin, equals the base-plus-overlay view and the same writes applied to a
# raw copy, byte for byte.  The disk size is not a multiple of the block size
# (nor of 4096) and the writes are unaligned.
source "$srcdir/functions.sh"
source "$srcdir/commit-functions.sh"
cd "$tmp"

size=$((6 * 1048576 + 12345))
make_disk disk.img $size
cp disk.img ref.img
hexz-pack -b 64K -m "the base" disk.img base.st

cat > ops.py <<PY
import random
rnd = random.Random(4)
size = $size
h.pwrite(b"unaligned" * 1000, 1000)                   # inside blocks 0-2 of 4 KiB
h.pwrite(rnd.randbytes(70000), 65536 - 3000)             # across a 64K block boundary
h.pwrite(b"\xff" * 5000, 3 * 1048576 + 4095)          # across 4 KiB blocks
h.zero(10000, 700000 - 5000)                          # zero, unaligned
h.zero(131072, 2 * 1048576)                           # aligned zero (punched)
h.pwrite(b"tail!" * 20, size - 100)                   # the partial last block
h.pwrite(bytes(4096), 5 * 1048576)                    # zeroes written as data
h.flush()
PY
write_overlay base.st changes.overlay ops.py
write_raw ref.img ops.py
[ -s changes.overlay.meta ] || fail "the filter wrote no .meta"
view_to base.st changes.overlay view.img
same ref.img view.img "reference vs the filter's view"

# Thick.
hexz-commit --base base.st --overlay changes.overlay --output thick.st -m "thick commit"
serve_to thick.st thick.img
same ref.img thick.img "thick commit"
info_field thick.st '^Parent: none' | grep -q . || fail "thick commit has a parent"
info_field thick.st '^Message: thick commit$' | grep -q . || fail "hexz-info does not show the message"
info_field thick.st 'creator=hexz-commit' | grep -q . || fail "creator is not hexz-commit"

# Thick with another block size and method.
hexz-commit --base base.st --overlay changes.overlay -o thick16.st -b 16K -c lz4
serve_to thick16.st thick16.img
same ref.img thick16.img "thick commit with 16K blocks"
info_field thick16.st '^Block size: 16384' | grep -q . || fail "-b 16K not honoured"

# Thin: only the touched 64K blocks are stored.
hexz-commit --base base.st --overlay changes.overlay --output thin.st --thin -m "thin commit"
serve_to thin.st thin.img
same ref.img thin.img "thin commit"
info_field thin.st '^Parent: base.st ' | grep -q . || fail "thin commit does not name base.st as its parent"
info_field thin.st '^Message: thin commit$' | grep -q . || fail "thin commit message missing"
thin_size=$(stat -c %s thin.st)
base_size=$(stat -c %s base.st)
[ "$thin_size" -lt $((base_size / 2)) ] || fail "thin snapshot ($thin_size bytes) is not small (base $base_size)"
# Every 64K block holding a modified 4 KiB block is stored, no other.
touched=$(python3 -c '
import struct
m = open("changes.overlay.meta", "rb").read()
idx = struct.unpack("<%dQ" % (len(m) // 8), m)
print(len({i * 4096 // 65536 for i in idx}))')
parents=$(( (size + 65535) / 65536 - touched ))
hexz-info thin.st | grep -A3 '^Stream disk' | grep -q "parent $parents)" ||
  fail "thin commit should have $parents parent blocks: $(hexz-info thin.st)"

# A thin commit must keep the base's block size.
if hexz-commit --base base.st --overlay changes.overlay -o bad.st --thin -b 16K 2> err; then
  fail "thin commit with another block size succeeded"
fi
cat err
grep -q "block size" err || fail "unclear error for a thin commit with -b 16K"
[ ! -e bad.st ] || fail "refused commit left bad.st"

# The overlay is kept by default, and still describes the same view.
[ -f changes.overlay ] && [ -f changes.overlay.meta ] || fail "overlay removed without --remove-overlay"
view_to base.st changes.overlay view2.img
same view.img view2.img "overlay after the commits"
