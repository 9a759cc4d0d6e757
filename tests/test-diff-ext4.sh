#!/usr/bin/env bash
# hexz-diff --files on a GPT disk: partition 1 ext4 (changed: a file added,
# a file changed in place, a file deleted, a chmod, a hard link), partition 2
# swap (named, not resolved).  The disk is changed by writing through the
# hexz-cow filter; the files each modified block belongs to are checked
# against debugfs icheck/ncheck on the before and after filesystems.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires sfdisk mkfs.ext4 debugfs mkswap nbdsh perl cmp hexz-pack
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"

cd "$tmp"
make_tree tree
echo small > tree/data/small.txt
mkdir tree/empty

# Partition 1 at 1 MiB (ext4, 4 KiB blocks), partition 2 (swap), a gap.
P1=2048 P1_SECTORS=81920 P2=86016 P2_SECTORS=16384
rm -f fs.img && truncate -s $((P1_SECTORS * 512)) fs.img
mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 -d tree fs.img
truncate -s 56M disk.raw
sfdisk -q disk.raw <<SF
label: gpt
label-id: 2D5E4C4B-8A5F-4F38-9B1E-2D2A3C4B5D6E
start=$P1, size=$P1_SECTORS, type=linux, uuid=11111111-2222-3333-4444-555555555555
start=$P2, size=$P2_SECTORS, type=swap, uuid=11111111-2222-3333-4444-666666666666
SF
dd if=fs.img of=disk.raw bs=512 seek=$P1 conv=notrunc status=none
dd if=/dev/zero of=swap.img bs=1M count=8 status=none
mkswap -q swap.img
dd if=swap.img of=disk.raw bs=512 seek=$P2 conv=notrunc status=none
hexz-pack disk.raw base.st > /dev/null

# The changes, made to a copy of the filesystem with debugfs.
cp fs.img fs-new.img
echo "a new file" > new.txt
debugfs -w fs-new.img -f - > /dev/null 2>&1 <<'DF'
write new.txt /data/new.txt
rm /data/numbers.txt
set_inode_field /etc/services mode 0100600
ln /data/small.txt /data/hardlink.txt
set_inode_field /data/small.txt links_count 2
DF
# In place: overwrite the second block of random.bin.
blk=$(debugfs fs-new.img -R "bmap /data/random.bin 1" 2>/dev/null)
printf 'CHANGED IN PLACE' | dd of=fs-new.img bs=4096 seek="$blk" conv=notrunc status=none
cp disk.raw disk-new.raw
dd if=fs-new.img of=disk-new.raw bs=512 seek=$P1 conv=notrunc status=none

apply_through_filter base.st vm.overlay disk.raw disk-new.raw
[ -s vm.overlay.meta ] || fail "the filter recorded no .meta"
meta_blocks vm.overlay.meta > meta.list
changed_blocks disk.raw disk-new.raw > cmp.list
cmp meta.list cmp.list || fail "the overlay does not hold exactly the changed blocks"

hexz-diff vm.overlay --files > out
cat out

# Reference: for each modified block in partition 1, the owning inode in
# each view (icheck) and its paths (ncheck).  Inodes below 11 other than the
# root are filesystem metadata (journal, resize inode).
: > ref.pairs
nfiles=0
p1_first=$((P1 * 512 / 4096)) p1_end=$(((P1 + P1_SECTORS) * 512 / 4096))
for img in fs.img fs-new.img; do
  fsblocks=$(awk -v a=$p1_first -v b=$p1_end '$1 >= a && $1 < b { print $1 - a }' meta.list | tr '\n' ' ')
  debugfs "$img" -R "icheck $fsblocks" 2>/dev/null | awk 'NR > 1 && $2 ~ /^[0-9]+$/ && ($2 == 2 || $2 >= 11)' > icheck.$img
  inodes=$(awk '{ print $2 }' icheck.$img | sort -un | tr '\n' ' ')
  if [ -n "$inodes" ]; then
    debugfs "$img" -R "ncheck $inodes" 2>/dev/null | awk 'NR > 1' > ncheck.$img
  else
    : > ncheck.$img
  fi
  # (path block) pairs; the root directory has no ncheck name.
  while read -r b ino; do
    if [ "$ino" = 2 ]; then echo "/ $b"; continue; fi
    awk -v i="$ino" -F'\t' '$1 == i { print $2 }' ncheck.$img | sed "s|^//|/|; s|\$| $b|"
  done < icheck.$img >> ref.pairs
done
# Per path: the number of distinct modified blocks.
sort -u ref.pairs | awk '{ c[$1]++ } END { for (p in c) print p, c[p] }' | sort > ref.counts
grep -E '^[-+=] ' out | sed -n 's/^. . [0-7]\{4\} *[0-9]* \(.*\) (\([0-9]*\) modified blocks\{0,1\})$/\1 \2/p' |
  sed 's/ -> [^ ]* / /' | awk '$NF > 0' | sort -u > got.counts
[ -s ref.counts ] || fail "no modified block lies in a file: the test changes nothing"
cat ref.counts
cmp ref.counts got.counts || { diff -u ref.counts got.counts; fail "files and block counts differ from debugfs icheck/ncheck"; }

# Blocks owned by an inode in either view = "in files" of the summary.
in_files=$(sort -u icheck.fs.img icheck.fs-new.img | awk '{ print $1 }' | sort -u | wc -l)
grep -qx "  in files: *$in_files" out || fail "summary: in files should be $in_files"
total=$(wc -l < meta.list)
sum=$(sed -n '/^Summary/,/^$/p' out | awk -F: 'NR > 1 && NF == 2 { s += $2 } END { print s }')
[ "$sum" = "$total" ] || fail "summary accounts for $sum blocks, not $total"

# The kinds of change, virt-diff style.
grep -Eq '^\+ - 0644 +11 /data/new.txt ' out || fail "added file"
grep -Eq '^- - 0644 +[0-9]+ /data/numbers.txt ' out || fail "deleted file"
grep -Eq '^= - 0644 +300000 /data/random.bin \(1 modified block\)' out || fail "file changed in place"
grep -A2 -E '^- - 0644 +[0-9]+ /etc/services$' out | grep -Eq '^\+ - 0600 ' || fail "chmod: -/+ pair"
grep -A2 -E '^- - 0644 +[0-9]+ /etc/services$' out | grep -qx '# changed: st_mode' || fail "chmod: changed field"
grep -Eq '^\+ - 0644 +6 /data/hardlink.txt ' out || fail "hard link added"
grep -A2 -E '^- - 0644 +6 /data/small.txt$' out | grep -qx '# changed: st_nlink' || fail "hard link: link count"
grep -Eq '^= d 0755 +4096 /data ' out || fail "directory /data changed"
grep -q 'partition 2 (swap): file resolution is not supported for swap yet' out ||
  ! awk -v a=$((P2 * 512 / 4096)) -v b=$(((P2 + P2_SECTORS) * 512 / 4096)) '$1 >= a && $1 < b' meta.list | grep -q . ||
  fail "swap partition not named"
grep -Eq '^partition 1 \(ext4\): (inode table|block bitmap|inode bitmap|group descriptors|superblock|journal)' out ||
  fail "no metadata area named"

# The same facts as JSON.
hexz-diff vm.overlay --files --json > out.json
python3 - out.json <<'PY' || fail "--json"
import json, sys
j = json.load(open(sys.argv[1]))
s = j["summary"]
assert sum(s.values()) == j["modified_blocks"] == len(j["blocks"]), s
paths = {c["path"]: c for f in j["filesystems"] for c in f["changes"]}
assert paths["/data/new.txt"]["change"] == "+"
assert paths["/data/numbers.txt"]["change"] == "-"
assert paths["/etc/services"]["changed"] == ["st_mode"]
PY

# A block in the swap partition is counted as unresolved, named once.  It
# must really differ from the base (a block of zeroes listed over zeroes is
# "same as the base"): bytes are put at its place in the overlay, which
# vm.overlay.meta does not list.
printf 'swap data' | dd of=vm.overlay bs=4096 seek=$((P2 * 512 / 4096 + 1)) conv=notrunc status=none
write_meta swap.meta $((P2 * 512 / 4096 + 1))
hexz-diff vm.overlay --files --base base.st --meta swap.meta > out2
grep -q 'partition 2 (swap): file resolution is not supported for swap yet: 1 block' out2 || fail "swap block: $(cat out2)"
grep -qx '  unresolved: *1' out2 || fail "swap block not unresolved"

# No .meta: nothing modified, nothing to resolve, exit 0.
hexz-diff vm.overlay --files --meta absent.meta > out3
grep -qx 'Modified Blocks: 0' out3 || fail "--files without .meta: $(cat out3)"
grep -qi 'no .meta' out3 || fail "--files without .meta is not mentioned"
