#!/usr/bin/env bash
# hexz-diff --files on damaged disks: an MBR entry beyond the end of the
# disk, a partition whose ext4 superblock is corrupt, a GPT whose primary
# header is damaged.  Each gives a clear message for that partition or
# table, and the rest of the disk is still resolved.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires sfdisk mkfs.ext4 debugfs nbdsh perl hexz-pack
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"

cd "$tmp"
mkdir tree && make_tree tree
P1=2048 P2=18432 N=16384
rm -f fs.img && truncate -s $((N * 512)) fs.img
mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 -d tree fs.img
cp fs.img fs-new.img
echo "added" > added.txt
debugfs -w fs-new.img -R "write added.txt /added.txt" > /dev/null 2>&1

# poke FILE OFFSET PERL-PACK-FORMAT VALUE...: overwrite bytes in place.
poke() {
  local f=$1 off=$2
  shift 2
  perl -e 'open F, "+<", $ARGV[0] or die; seek F, $ARGV[1], 0; print F pack($ARGV[2], @ARGV[3..$#ARGV])' "$f" "$off" "$@"
}

## MBR: p1 ext4 (changed), p2 ext4 with a corrupt superblock (changed), p3
## beyond the end of the disk.
truncate -s 24M mbr.raw
printf 'label: dos\nlabel-id: 0x0badd15c\nstart=%d, size=%d, type=83\nstart=%d, size=%d, type=83\n' \
  $P1 $N $P2 $N | sfdisk -q mbr.raw
poke mbr.raw $((446 + 32)) 'C C3 C C3 V V' 0 0 0 0 131 0 0 0 40000 999999
dd if=fs.img of=mbr.raw bs=512 seek=$P1 conv=notrunc status=none
dd if=fs.img of=mbr.raw bs=512 seek=$P2 conv=notrunc status=none
poke mbr.raw $((P2 * 512 + 1024 + 24)) V 40    # s_log_block_size: absurd
hexz-pack mbr.raw mbr.st > /dev/null
cp mbr.raw mbr-new.raw
dd if=fs-new.img of=mbr-new.raw bs=512 seek=$P1 conv=notrunc status=none
head -c 8192 /dev/urandom | dd of=mbr-new.raw bs=512 seek=$((P2 + 64)) conv=notrunc status=none
apply_through_filter mbr.st mbr.overlay mbr.raw mbr-new.raw

expect_exit 3 hexz-diff mbr.overlay --files > out 2> err
cat out err
grep -q 'partition 3: extends beyond the end of the disk' err || fail "MBR entry beyond the disk not reported"
grep -Eq '^partition 2 \(ext4\): cannot open the ext4 filesystem: .*: 2 blocks$' out || fail "corrupt ext4 not named with its blocks"
grep -Eq '^\+ - 0644 +6 /added.txt ' out || fail "partition 1 not resolved next to the damage"
grep -qx '  unresolved: *2' out || fail "the damaged partition's blocks are not unresolved"
expect_exit 3 hexz-diff mbr.overlay --files --json > out.json
grep -q '"status":"damaged"' out.json || fail "--json: damaged status"
grep -q 'extends beyond the end of the disk' out.json || fail "--json: table warning"

## GPT with a damaged primary header: the backup is used.
truncate -s 12M gpt.raw
printf 'label: gpt\nlabel-id: 2D5E4C4B-8A5F-4F38-9B1E-2D2A3C4B5D6E\nstart=%d, size=%d, type=linux, uuid=11111111-2222-3333-4444-555555555555\n' \
  $P1 $N | sfdisk -q gpt.raw
dd if=fs.img of=gpt.raw bs=512 seek=$P1 conv=notrunc status=none
poke gpt.raw $((512 + 16)) V 12345    # header CRC
hexz-pack gpt.raw gpt.st > /dev/null
cp gpt.raw gpt-new.raw
dd if=fs-new.img of=gpt-new.raw bs=512 seek=$P1 conv=notrunc status=none
apply_through_filter gpt.st gpt.overlay gpt.raw gpt-new.raw
expect_exit 3 hexz-diff gpt.overlay --files > out 2> err
cat out err
grep -q 'primary GPT header: header checksum mismatch' err || fail "damaged primary GPT header not reported"
grep -q 'read from the backup header' err || fail "backup GPT header not used"
grep -Eq '^\+ - 0644 +6 /added.txt ' out || fail "GPT partition not resolved from the backup header"

## A bare filesystem (no partition table) whose superblock is damaged in
## the overlay itself: the after view cannot be read, said so, exit 3.
cp fs.img bare.raw
hexz-pack bare.raw bare.st > /dev/null
cp fs.img bare-new.raw
poke bare-new.raw $((1024 + 24)) V 40
apply_through_filter bare.st bare.overlay bare.raw bare-new.raw
expect_exit 3 hexz-diff bare.overlay --files > out 2> err
cat out err
grep -Eq '^whole disk \(ext4\): cannot open the ext4 filesystem: .*: 1 block$' out || fail "bare damaged filesystem"

## Filesystems hexz cannot resolve are named by their signatures, never
## guessed at: XFS, Btrfs, an LVM physical volume, and no signature at all.
truncate -s 8M other.raw
sfdisk -q other.raw <<'SF'
label: gpt
label-id: 2D5E4C4B-8A5F-4F38-9B1E-2D2A3C4B5D6F
start=2048, size=2048, type=linux
start=4096, size=2048, type=linux
start=6144, size=2048, type=lvm
start=8192, size=2048, type=linux
SF
printf 'XFSB' | dd of=other.raw bs=512 seek=2048 conv=notrunc status=none
printf '_BHRfS_M' | dd of=other.raw bs=1 seek=$((4096 * 512 + 65536 + 64)) conv=notrunc status=none
printf 'LABELONE' | dd of=other.raw bs=1 seek=$((6144 * 512 + 512)) conv=notrunc status=none
printf 'LVM2 001' | dd of=other.raw bs=1 seek=$((6144 * 512 + 512 + 24)) conv=notrunc status=none
hexz-pack other.raw other.st > /dev/null
cp other.raw other-new.raw
for s in 2056 4104 6152 8200; do
  printf 'written' | dd of=other-new.raw bs=512 seek=$s conv=notrunc status=none
done
apply_through_filter other.st other.overlay other.raw other-new.raw
expect_exit 3 hexz-diff other.overlay --files > out 2> err
cat out
grep -qx 'partition 1 (xfs): file resolution is not supported for xfs yet: 1 block' out || fail "xfs"
grep -qx 'partition 2 (btrfs): file resolution is not supported for btrfs yet: 1 block' out || fail "btrfs"
grep -qx 'partition 3 (LVM2_member): file resolution is not supported for LVM2_member yet: 1 block' out || fail "LVM"
grep -qx 'partition 4 (unknown): no filesystem signature recognised; file resolution is not possible: 1 block' out ||
  fail "no signature"
grep -qx '  unresolved: *4' out || fail "unresolved count"
