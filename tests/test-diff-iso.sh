#!/usr/bin/env bash
# hexz-diff --files on a bare ISO 9660 image (read through The Sleuth Kit):
# a block written inside a file is attributed to that file, one holding the
# volume descriptors and the two holding the path tables to filesystem
# metadata, none to free space (an ISO 9660 volume has none).
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires genisoimage nbdsh od hexz-pack
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"

cd "$tmp"
mkdir -p src/docs
{ echo HEXZ-ISO-MARKER; seq 1 100000; } > src/docs/numbers.txt
head -c 200000 /dev/urandom > src/random.bin
echo hello > src/hello.txt
genisoimage -quiet -o disk.iso src
hexz-pack disk.iso base.st > /dev/null

cp disk.iso new.iso
# The second 4 KiB block of numbers.txt (its data starts at the marker).
off=$(grep -obUa HEXZ-ISO-MARKER disk.iso | head -n 1 | cut -d: -f1)
[ -n "$off" ] || fail "the marker is not in the ISO"
head -c 4096 /dev/zero | tr '\0' X | dd of=new.iso bs=4096 seek=$((off / 4096 + 1)) conv=notrunc status=none
# The primary volume descriptor (sector 16): its volume identifier.
printf 'CHANGED' | dd of=new.iso bs=1 seek=$((16 * 2048 + 40)) conv=notrunc status=none
# The type L path table, whose sector the descriptor gives at byte 140: the
# padding byte of its first record (the root's), which readers ignore.
lt=$(od -An -t u4 -j $((16 * 2048 + 140)) -N 4 disk.iso | tr -d ' ')
[ "$lt" -gt 17 ] || fail "unexpected path table location $lt"
[ $((lt * 2048 / 4096)) -ne 8 ] || fail "the path table shares the descriptors' block; change the layout"
printf 'Z' | dd of=new.iso bs=1 seek=$((lt * 2048 + 9)) conv=notrunc status=none
# The type M path table, whose location is big-endian, at byte 148.
set -- $(od -An -t u1 -j $((16 * 2048 + 148)) -N 4 disk.iso)
mt=$(($1 << 24 | $2 << 16 | $3 << 8 | $4))
[ $((mt * 2048 / 4096)) -ne $((lt * 2048 / 4096)) ] && [ $((mt * 2048 / 4096)) -ne 8 ] ||
  fail "the M path table shares a block with the L table or the descriptors; change the layout"
printf 'Z' | dd of=new.iso bs=1 seek=$((mt * 2048 + 9)) conv=notrunc status=none

apply_through_filter base.st vm.overlay disk.iso new.iso
hexz-diff vm.overlay --files > out.txt
cat out.txt
grep -Eqi '^= - +[0-9]+ +[0-9]+ /docs/numbers\.txt \(1 modified block\)$' out.txt ||
  fail "numbers.txt is not named"
grep -q '^whole disk (iso9660): system area and volume descriptors: 1 block$' out.txt ||
  fail "the volume descriptors are not named"
grep -q '^whole disk (iso9660): path tables: 2 blocks$' out.txt || fail "the path tables are not named"
grep -Eq '^  in files: +1$' out.txt || fail "in files is not 1"
grep -Eq '^  filesystem metadata: +3$' out.txt || fail "filesystem metadata is not 3"
grep -Eq '^  free space: +0$' out.txt || fail "some block counted as free space"
