#!/usr/bin/env bash
# hexz-diff -b A.st B.st: the blocks the two indexes prove equal are not
# read (the index path), and the result is identical to reading every block
# (--no-index): base vs thin child, base vs grandchild, a snapshot vs a
# repack of the same raw image, ZERO blocks on one side, and a pair whose
# checksums collide (only --trust-checksums calls it equal).  The same-lineage
# case reads no data block of the base: a damaged base block that the child
# keeps as PARENT does not stop the index path, while --no-index trips on it.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires hexz-diff hexz-pack nbdkit nbdcopy cmp dd
make_collision=$PWD/make-collision
cd "$tmp"

bs=65536
# A 4 MiB disk: random data, a zero stretch, more data.
head -c 4M /dev/urandom > base.img
dd if=/dev/zero of=base.img bs=$bs seek=20 count=8 conv=notrunc status=none
hexz-pack -b 64K base.img base.st >/dev/null

# child.img: a few 4 KiB writes, one block zeroed, data in the zero stretch.
cp base.img child.img
dd if=/dev/urandom of=child.img bs=4096 seek=37 count=1 conv=notrunc status=none
dd if=/dev/urandom of=child.img bs=4096 seek=$((22 * 16 + 3)) count=2 conv=notrunc status=none
dd if=/dev/zero of=child.img bs=$bs seek=40 count=1 conv=notrunc status=none
hexz-diff -b base.st child.img child.st -O st >/dev/null
# grandchild.img: more writes on top, one of them back to the base's bytes.
cp child.img grand.img
dd if=/dev/urandom of=grand.img bs=4096 seek=500 count=3 conv=notrunc status=none
dd if=base.img of=grand.img bs=4096 skip=37 seek=37 count=1 conv=notrunc status=none
hexz-diff -b child.st grand.img grand.st -O st >/dev/null
# An unrelated snapshot of the same bytes as child.img.
hexz-pack -b 64K child.img repack.st >/dev/null

# same_result A B: the index path and the reading path write the same
# overlay and .meta, and those match a raw comparison of the images.
same_result() {
  local a=$1 b=$2
  hexz-diff -f -b "$a" "$b" idx.ov >/dev/null || fail "index path: hexz-diff -b $a $b failed"
  hexz-diff -f --no-index -b "$a" "$b" read.ov >/dev/null || fail "reading path: hexz-diff -b $a $b failed"
  cmp idx.ov.meta read.ov.meta || fail "$a vs $b: .meta differs between the index and the reading path"
  cmp idx.ov read.ov || fail "$a vs $b: overlay differs between the index and the reading path"
}
same_result base.st child.st
[ -s idx.ov.meta ] || fail "base vs child: no changed block found"
same_result base.st grand.st
same_result child.st grand.st
same_result base.st repack.st
same_result repack.st grand.st
same_result child.st repack.st
[ ! -s idx.ov.meta ] || fail "child vs its repack: $(meta_blocks idx.ov.meta | wc -l) blocks reported changed"

# The changed-block list for backup tools (--json changed_extents): merged
# byte extents of exactly the blocks in .meta, for the snapshot pair (index
# path), the overlay's summary, and an image pair.
hexz-diff -f -b base.st grand.st idx.ov > /dev/null
$NBDKIT -U - -r "$HEXZ_PLUGIN" file=grand.st --run 'nbdcopy "$uri" grand-copy.img'
set +e
hexz-diff --json -b base.st grand.st > pair.json
hexz-diff --json -b base.img grand-copy.img > images.json
set -e
hexz-diff --json idx.ov > overlay.json
/usr/bin/python3 - idx.ov.meta pair.json images.json overlay.json <<'PY' || fail "changed_extents do not match the .meta"
import json, struct, sys
blocks = [v for (v,) in struct.iter_unpack("<Q", open(sys.argv[1], "rb").read())]
want, i = [], 0
while i < len(blocks):
    k = i + 1
    while k < len(blocks) and blocks[k] == blocks[k - 1] + 1:
        k += 1
    want.append({"offset": blocks[i] * 4096, "length": (k - i) * 4096})
    i = k
assert len(want) > 1, want
for f in sys.argv[2:]:
    got = json.load(open(f))["changed_extents"]
    assert got == want, (f, got[:5], want[:5])
PY

# -O st output is the same too.
hexz-diff -b base.st grand.st idx.st -O st >/dev/null
hexz-diff --no-index -b base.st grand.st read.st -O st >/dev/null
$NBDKIT -U - -r "$HEXZ_PLUGIN" file=idx.st --run 'nbdcopy "$uri" idx-st.img'
cmp idx-st.img grand.img || fail "thin output of the index path does not reproduce grand.img"

# A crafted pair whose checksums collide: block 30 of col.img.a and
# col.img.b differ in 16 bytes but have the same XXH3-64.  The two snapshots
# are unrelated, so the index path must compare the bytes and find the
# block; only --trust-checksums may call it equal.
cp base.img col.img
"$make_collision" col.img $((30 * bs)) $bs > /dev/null || fail "make-collision found no collision"
cmp -s col.img.a col.img.b && fail "the colliding versions are equal"
hexz-pack -b 64K col.img.a col-a.st > /dev/null
hexz-pack -b 64K col.img.b col-b.st > /dev/null
same_result col-a.st col-b.st
[ "$(meta_blocks idx.ov.meta)" = $((30 * 16)) ] ||
  fail "colliding pair: want block $((30 * 16)) changed, got: $(meta_blocks idx.ov.meta | tr '\n' ' ')"
hexz-diff -f --trust-checksums -b col-a.st col-b.st trust.ov > /dev/null
[ ! -s trust.ov.meta ] || fail "--trust-checksums did not take the equal checksums as equal blocks"
set +e
hexz-diff -b col-a.st col-b.st > /dev/null
rc=$?
set -e
[ $rc = 1 ] || fail "report-only form on the colliding pair: exit $rc, want 1 (different)"

# Damage the base's first stored block (block 0, random data, unchanged in
# the child, so the child refers to it as PARENT).  Check that the damage
# really is in block 0: reading it through nbdkit hexz must fail.
printf 'XXXXXXXX' | dd of=base.st bs=1 seek=$((4096 + 200)) conv=notrunc status=none
if $NBDKIT -U - -r "$HEXZ_PLUGIN" file=base.st --run 'nbdcopy "$uri" damaged.img' 2>/dev/null; then
  fail "the damaged base still reads: the test damaged no data block"
fi
hexz-diff -b base.st child.st lineage.ov >/dev/null ||
  fail "index path read a data block of the base that both sides share"
hexz-diff --no-index -b base.st child.st nolineage.ov >/dev/null 2>err.txt &&
  fail "the reading path did not trip over the damaged block (so the test proves nothing)"
grep -q 'read error\|Input/output' err.txt || { cat err.txt; fail "unexpected error from the reading path"; }
echo "index path and reading path agree; the shared lineage was not read"
