#!/usr/bin/env bash
# hexz-diff -b BASE MODIFIED OUTPUT: the block set equals a byte-by-byte
# comparison of the raw images, and overlay + base (or the thin .st)
# reproduces MODIFIED exactly, for raw, .st and NBD URI inputs.
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack nbdkit nbdcopy mkfs.ext4 /usr/bin/python3 cmp
cd "$tmp"

# reference_blocks BASE MODIFIED: the 4 KiB block indices where the raw
# files differ (BASE padded with zeroes to MODIFIED's size), one per line.
reference_blocks() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys
a, b = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb')
i = 0
while True:
    y = b.read(4096)
    if not y:
        break
    x = a.read(4096)
    if x.ljust(len(y), b'\0') != y:
        print(i)
    i += 1
EOF
}
check_blocks() {  # BASE_RAW MODIFIED_RAW META
  reference_blocks "$1" "$2" > ref.txt
  meta_blocks "$3" > got.txt
  cmp -s ref.txt got.txt || { diff ref.txt got.txt | head; fail "$3: block set differs from the raw comparison of $1 and $2"; }
}
# serve_copy OUT ARGS...: copy what nbdkit ARGS serves into OUT.
serve_copy() {
  local out=$1
  shift
  rm -f "$out"
  $NBDKIT -U - -r "$@" --run "nbdcopy \"\$uri\" $out" || fail "nbdkit $* failed"
}

# Two images built from two directory trees.
make_tree a
cp -a a b
seq 1 60000 > b/data/numbers.txt            # changed in place, grown
rm b/bin/env                                 # removed
head -c 200000 /dev/urandom > b/data/new.bin # added
chmod 600 b/etc/services                     # chmod
make_ext4 A.img 32M a
make_ext4 B.img 32M b
# Some blocks of B become zero: a hole punched where A has data.
dd if=/dev/zero of=B.img bs=4096 seek=3000 count=5 conv=notrunc status=none
cp A.img A0.img
dd if=/dev/urandom of=A0.img bs=4096 seek=3000 count=5 conv=notrunc status=none
mv A0.img A.img
# And data beyond what either filesystem uses: last block, and a block
# that is a hole in A.
printf 'tail' | dd of=B.img bs=1 seek=$((32 * 1024 * 1024 - 4)) conv=notrunc status=none
dd if=/dev/urandom of=B.img bs=4096 seek=7000 count=3 conv=notrunc status=none

# raw vs raw
hexz-diff -b A.img B.img out.overlay > out.txt || fail "raw vs raw failed"
cat out.txt
check_blocks A.img B.img out.overlay.meta
n=$(wc -l < ref.txt)
[ "$n" -gt 20 ] || fail "only $n changed blocks: the test images are too similar"
grep -q "^Changed Blocks: $n of 8192" out.txt || fail "summary does not say $n changed blocks"
[ ! -e out.overlay.base ] || fail "a .base record was written for a raw BASE"
[ "$(stat -c %s out.overlay)" -eq $((32 * 1024 * 1024)) ] || fail "overlay length is not the disk size"
# The overlay holds only the changed blocks (allowing for filesystem
# allocation granularity: at most the changed blocks plus a little).
alloc=$(($(stat -c %b out.overlay) * $(stat -c %B out.overlay)))
[ "$alloc" -le $(((n + 64) * 4096)) ] || fail "overlay allocates $alloc bytes for $n blocks"
serve_copy R.img --filter="$HEXZ_COW_FILTER" file A.img overlay=out.overlay
cmp R.img B.img || fail "raw base + overlay does not reproduce MODIFIED"
# The same with raw images read in-process instead of through nbdkit file.
hexz-diff --direct -b A.img B.img direct.overlay > /dev/null || fail "--direct failed"
cmp direct.overlay.meta out.overlay.meta || fail "--direct gives another block set"
cmp direct.overlay out.overlay || fail "--direct gives another overlay"

# .st base: .base record, served through the hexz plugin and the filter.
hexz-pack A.img A.st
hexz-diff -b A.st B.img st.overlay > /dev/null || fail ".st vs raw failed"
check_blocks A.img B.img st.overlay.meta
grep -qx "hexz-base 1" st.overlay.base || fail "no .base record"
grep -qx "path=A.st" st.overlay.base || fail ".base does not name A.st"
uuid=$(hexz-info A.st | sed -n 's/^UUID: //p')
grep -qx "uuid=$uuid" st.overlay.base || fail ".base does not carry A.st's UUID $uuid"
serve_copy R.img --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=A.st overlay=st.overlay
cmp R.img B.img || fail ".st base + overlay does not reproduce MODIFIED"

# .st vs .st, and the thin output.
hexz-pack B.img B.st
hexz-diff -b A.st B.st -O st thin.st > /dev/null || fail "-O st failed"
hexz-info thin.st | grep -q "^Parent: " || fail "thin.st has no parent"
serve_copy R.img "$HEXZ_PLUGIN" file=thin.st
cmp R.img B.img || fail "thin .st does not reproduce MODIFIED"
[ "$(stat -c %s thin.st)" -lt "$(stat -c %s B.st)" ] || fail "thin.st is not smaller than B.st"

# NBD URI input (MODIFIED served by nbdkit).
$NBDKIT -U - -r file B.img --run "hexz-diff -b A.img \"\$uri\" uri.overlay" > /dev/null || fail "NBD URI input failed"
cmp uri.overlay.meta out.overlay.meta || fail "NBD URI input gives another block set"

# Identical images: nothing changed.
hexz-diff -b A.img A.st same.overlay > out.txt || fail "identical images failed"
grep -q "^Changed Blocks: 0 of" out.txt || fail "identical images reported changes"
[ ! -s same.overlay.meta ] || fail ".meta of identical images is not empty"

# A pair made by changing an image through the overlay: write through
# hexz-cow, copy the result out, diff against the base.
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=A.st overlay=w.overlay --run '
  nbdsh -u "$uri" -c "
import os
h.pwrite(os.urandom(3 * 4096), 100 * 4096)
h.pwrite(b\"x\" * 10, 5000 * 4096 + 7)
h.zero(8 * 4096, 3000 * 4096)
h.pwrite(h.pread(4096, 200 * 4096), 200 * 4096)
" && nbdcopy "$uri" W.img' || fail "writing through hexz-cow failed"
hexz-diff -b A.st W.img w2.overlay > /dev/null || fail "diff of an overlay-made pair failed"
check_blocks A.img W.img w2.overlay.meta
# Every changed block was written through the filter (the rewrite of block
# 200 with its own bytes is in w.overlay.meta but is no change).
meta_blocks w.overlay.meta > written.txt
comm -23 <(sort ref.txt) <(sort written.txt) | grep -q . && fail "diff reports blocks the filter never wrote"
grep -qx 200 ref.txt && fail "an unchanged rewrite is reported"
serve_copy R.img --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=A.st overlay=w2.overlay
cmp R.img W.img || fail "overlay-made pair: base + new overlay does not reproduce it"

echo OK
