#!/usr/bin/env bash
# hexz-diff --files on an MBR disk with a primary FAT16 partition and an
# extended partition holding a logical ext2 (1 KiB blocks, block-mapped
# files) and a logical NTFS.  Changes are written through the hexz-cow
# filter; FAT and ext2 results are checked block by block against The Sleuth
# Kit's ifind/ffind and debugfs icheck/ncheck.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires sfdisk mkfs.vfat mcopy mdel mkfs.ext2 debugfs ifind ffind nbdsh perl hexz-pack
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"

cd "$tmp"
P1=2048 P1_N=32768 P5=36864 P5_N=16384 P6=55296 P6_N=40960
truncate -s 48M disk.raw
sfdisk -q disk.raw <<SF
label: dos
label-id: 0x12345678
start=$P1, size=$P1_N, type=6
start=34816, size=63488, type=5
start=$P5, size=$P5_N, type=83
start=$P6, size=$P6_N, type=7
SF
sfdisk -d disk.raw | grep -q "disk.raw6 : start= *$P6," || fail "sfdisk did not place the logical partitions as expected"

# FAT16, 2 KiB clusters, written in place with mkfs.vfat --offset.
mkfs.vfat -F 16 -s 4 --offset=$P1 disk.raw $((P1_N / 2)) > /dev/null 2>&1
seq 1 20000 > numbers.txt
head -c 50000 /dev/urandom > random.bin
echo "keep me" > keep.txt
mmd -i disk.raw@@$((P1 * 512)) ::/dir
mcopy -i disk.raw@@$((P1 * 512)) numbers.txt random.bin ::/dir/
mcopy -i disk.raw@@$((P1 * 512)) keep.txt ::/

# ext2 with 1 KiB blocks (indirect blocks for the 300 KB file).
mkdir tree && make_tree tree
rm -f ext.img && truncate -s $((P5_N * 512)) ext.img
mkfs.ext2 -q -F -b 1024 -d tree ext.img
dd if=ext.img of=disk.raw bs=512 seek=$P5 conv=notrunc status=none

have_ntfs=no
if command -v mkntfs > /dev/null && command -v ntfscp > /dev/null; then
  truncate -s $((P6_N * 512)) ntfs.img
  mkntfs -q -F -Q -c 4096 ntfs.img > /dev/null 2>&1
  ntfscp ntfs.img random.bin /random.bin > /dev/null
  dd if=ntfs.img of=disk.raw bs=512 seek=$P6 conv=notrunc status=none
  have_ntfs=yes
fi
hexz-pack disk.raw base.st > /dev/null

# Changes: FAT add + delete + overwrite in place; ext2 add + delete + chmod;
# NTFS add + overwrite.
cp disk.raw disk-new.raw
echo "a new file on FAT" > added.txt
mcopy -i disk-new.raw@@$((P1 * 512)) added.txt ::/dir/added.txt
mdel -i disk-new.raw@@$((P1 * 512)) ::/dir/numbers.txt
# In place: the 2nd cluster of random.bin, found with TSK's istat.
fat_ino=$(ifind -f fat -o $P1 -n /dir/random.bin disk-new.raw)
sect=$(istat -f fat -o $P1 disk-new.raw "$fat_ino" | awk '/^Sectors:/ { getline; print $5; exit }')
printf 'CHANGED' | dd of=disk-new.raw bs=512 seek=$((P1 + sect)) conv=notrunc status=none
cp ext.img ext-new.img
echo "new on ext2" > new2.txt
debugfs -w ext-new.img -f - > /dev/null 2>&1 <<'DF'
write new2.txt /etc/new2.txt
rm /data/numbers.txt
set_inode_field /bin/env mode 0100700
DF
dd if=ext-new.img of=disk-new.raw bs=512 seek=$P5 conv=notrunc status=none
if [ $have_ntfs = yes ]; then
  cp ntfs.img ntfs-new.img
  ntfscp ntfs-new.img added.txt /added.txt > /dev/null
  head -c 50000 /dev/urandom > random2.bin
  ntfscp ntfs-new.img random2.bin /random.bin > /dev/null
  dd if=ntfs-new.img of=disk-new.raw bs=512 seek=$P6 conv=notrunc status=none
fi

apply_through_filter base.st vm.overlay disk.raw disk-new.raw
meta_blocks vm.overlay.meta > meta.list
hexz-diff vm.overlay --files > out 2> err
cat out

# files_of LABEL: "path count" for the lines under a partition's heading.
files_of() {
  awk -v h="$1:" '/^$/ { on = 0 } on { print } $0 == h { on = 1 }' out | grep -E '^[-+=] ' |
    sed -n 's/^. . [0-7]\{4\} *[0-9]* \(.*\) (\([0-9]*\) modified blocks\{0,1\})$/\1 \2/p' |
    sed 's/ -> [^ ]* / /' | awk '$NF > 0' | sort -u
}
blocks_in() { awk -v a=$(($1 * 512 / 4096)) -v b=$((($1 + $2) * 512 / 4096)) '$1 >= a && $1 < b' meta.list; }

# FAT reference: every changed 512-byte sector, in both images, through
# ifind (sector -> directory entry) and ffind (entry -> name).  hexz-diff
# compares shared blocks byte by byte, so only owners of changed bytes count.
changed_units disk.raw disk-new.raw 512 > sectors.list
for img in disk.raw disk-new.raw; do
  for abs in $(awk -v a=$P1 -v b=$((P1 + P1_N)) '$1 >= a && $1 < b' sectors.list); do
    ino=$(ifind -f fat -o $P1 -d $((abs - P1)) "$img" 2>/dev/null) || continue
    case $ino in *[!0-9]*|'') continue ;; esac
    name=$(ffind -f fat -o $P1 "$img" "$ino" 2>/dev/null | head -1) || continue
    case $name in /\$*|'') continue ;; esac
    echo "$name $((abs / 8))"
  done
done | sort -u > fat.pairs
awk '{ c[$1]++ } END { for (p in c) print p, c[p] }' fat.pairs | sort > fat.ref
files_of "partition 1 (vfat)" > fat.got
[ -s fat.ref ] || fail "FAT: no modified block lies in a file"
cmp fat.ref fat.got || { diff -u fat.ref fat.got; fail "FAT files differ from ifind/ffind"; }
grep -Eq '^\+ - [0-7]{4} +18 /dir/added.txt ' out || fail "FAT: added file"
grep -Eq '^- - [0-7]{4} +[0-9]+ /dir/numbers.txt ' out || fail "FAT: deleted file"
grep -Eq '^= - [0-7]{4} +50000 /dir/random.bin ' out || fail "FAT: file changed in place"

# ext2 reference: every changed 1 KiB block, through icheck and ncheck.
changed_units ext.img ext-new.img 1024 > ext-blocks.list
fsb=$(tr '\n' ' ' < ext-blocks.list)
for img in ext.img ext-new.img; do
  debugfs "$img" -R "icheck $fsb" 2>/dev/null | awk 'NR > 1 && $2 ~ /^[0-9]+$/ && ($2 == 2 || $2 >= 11)' > icheck.txt
  inodes=$(awk '{ print $2 }' icheck.txt | sort -un | tr '\n' ' ')
  if [ -n "$inodes" ]; then
    debugfs "$img" -R "ncheck $inodes" 2>/dev/null | awk 'NR > 1' > ncheck.txt
  else
    : > ncheck.txt
  fi
  while read -r fb ino; do
    b=$(((fb + P5 * 512 / 1024) / 4))
    if [ "$ino" = 2 ]; then echo "/ $b"; continue; fi
    awk -v i="$ino" -F'\t' '$1 == i { print $2 }' ncheck.txt | sed "s|^//|/|; s|\$| $b|"
  done < icheck.txt
done | sort -u > ext.pairs
awk '{ c[$1]++ } END { for (p in c) print p, c[p] }' ext.pairs | sort > ext.ref
files_of "partition 5 (ext2)" > ext.got
[ -s ext.ref ] || fail "ext2: no modified block lies in a file"
cmp ext.ref ext.got || { diff -u ext.ref ext.got; fail "ext2 files differ from debugfs icheck/ncheck"; }
grep -Eq '^\+ - 0644 +12 /etc/new2.txt ' out || fail "ext2: added file"
grep -Eq '^- - 0644 +[0-9]+ /data/numbers.txt ' out || fail "ext2: deleted file"
grep -A2 -E '^- - 0755 +[0-9]+ /bin/env$' out | grep -qx '# changed: st_mode' || fail "ext2: chmod"

if [ $have_ntfs = yes ]; then
  grep -Eq '^\+ - [0-7]{4} +18 /added.txt ' out || fail "NTFS: added file"
  grep -Eq '^= - [0-7]{4} +50000 /random.bin ' out || fail "NTFS: rewritten file"
fi

# Every block once in the summary.
total=$(wc -l < meta.list)
sum=$(sed -n '/^Summary/,/^$/p' out | awk -F: 'NR > 1 && NF == 2 { s += $2 } END { print s }')
[ "$sum" = "$total" ] || fail "summary accounts for $sum blocks, not $total"
