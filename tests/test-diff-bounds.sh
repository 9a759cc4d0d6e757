#!/usr/bin/env bash
# Tables and superblocks that claim more than is there (hexz-diff --files -b):
#  - a GPT with 8192 entries (valid: sfdisk writes it) is read, and a file
#    deleted on the modified disk is reported;
#  - a GPT whose entry size is not 128 x 2^n, or whose array would be 2 GiB,
#    is rejected by name, quickly, exit 3 (never "no differences");
#  - a GPT whose alternate LBA is 2^61 (x 512 wraps) is still read;
#  - an ext4 superblock with more free inodes than inodes, or claiming 2^30
#    inodes in 8 MiB, is reported as damaged without allocating for them.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires sfdisk mkfs.ext4 debugfs python3
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"

cd "$tmp"
mkdir tree && make_tree tree
N=16384 P1=4096
rm -f fs.img && truncate -s $((N * 512)) fs.img
mkfs.ext4 -q -F -b 4096 -d tree fs.img
echo "doomed" > doomed.txt
debugfs -w fs.img -R "write doomed.txt /doomed.txt" > /dev/null 2>&1
cp fs.img fs-new.img
debugfs -w fs-new.img -R "rm /doomed.txt" > /dev/null 2>&1

# gpt OUT FS-IMAGE: GPT with 8192 entries, p1 = FS-IMAGE.
gpt() {
  truncate -s $(((P1 + N + 4096) * 512)) "$1"
  printf 'label: gpt\ntable-length: 8192\nfirst-lba: %d\nstart=%d, size=%d, type=linux\n' $P1 $P1 $N | sfdisk -q "$1"
  dd if="$2" of="$1" bs=512 seek=$P1 conv=notrunc status=none
}
gpt A.img fs.img
gpt B.img fs-new.img

## 8192 entries: read, and the deletion is reported.
expect_exit 0 hexz-diff --files -b A.img B.img --direct > out 2> err
cat out err
grep -Eq '^- - 0644 +7 /doomed.txt$' out || fail "the file deleted on an 8192-entry GPT disk is not reported"

# patch_gpt IMG FIELD VALUE: sets a field of the primary GPT header (entry
# size "esize", entry count "count", alternate LBA "alt") and fixes its CRC.
patch_gpt() {
  python3 - "$@" <<'PY'
import struct, sys, zlib
img, field, value = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(img, "r+b") as f:
    f.seek(512)
    h = bytearray(f.read(512))
    off, fmt = {"esize": (84, "<I"), "count": (80, "<I"), "alt": (32, "<Q")}[field]
    h[off:off + struct.calcsize(fmt)] = struct.pack(fmt, value)
    size = struct.unpack("<I", h[12:16])[0]
    h[16:20] = b"\0\0\0\0"
    h[16:20] = struct.pack("<I", zlib.crc32(bytes(h[:size])) & 0xffffffff)
    f.seek(512)
    f.write(h)
PY
}
# break_backup IMG: the backup header's signature, so only the primary counts.
break_backup() {
  printf 'XXXXXXXX' | dd of="$1" bs=512 seek=$(($(stat -c %s "$1") / 512 - 1)) conv=notrunc status=none
}

## Entry size 384 (not 128 x 2^n) and 4096 entries of 512 KiB (a 2 GiB
## array): each named, exit 3, and no time or memory spent on them.
cp B.img C.img && break_backup C.img && patch_gpt C.img esize 384
expect_exit 3 hexz-diff --files -b A.img C.img --direct > out 2> err
cat err
grep -q 'primary GPT header: partition entry size 384 is not 128 x 2^n bytes' err || fail "entry size 384 accepted"
grep -q 'partition 1 (ext4): files not compared: in MODIFIED not in the damaged partition table' err ||
  fail "a partition hidden by the damaged table is not named"
! grep -q '^-' out || fail "files of a partition hidden by the damaged table are reported as removed"
cp B.img D.img && break_backup D.img && patch_gpt D.img esize 524288 && patch_gpt D.img count 4096
start=$(date +%s)
expect_exit 3 hexz-diff --files -b A.img D.img --direct --json > out.json 2> err
[ $(($(date +%s) - start)) -lt 20 ] || fail "the oversized entry array took too long"
grep -q 'partition entry array of 4096 entries of 524288 bytes is larger than 4 MiB' err ||
  fail "the oversized entry array is not named: $(cat err)"
python3 - out.json <<'PY' || fail "--json: $(cat out.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is False
assert any("larger than 4 MiB" in w for w in d["warnings"]), d["warnings"]
PY

## Alternate LBA 2^61: 2^61 x 512 wraps to 0 in 64 bits.
cp B.img E.img && patch_gpt E.img alt $((1 << 61))
expect_exit 0 hexz-diff --files -b A.img E.img --direct > out 2> err
grep -Eq '^- - 0644 +7 /doomed.txt$' out || fail "a GPT with a huge alternate LBA is not read: $(cat err)"

## ext4: free inodes > inodes (s_free_inodes_count at 1024 + 16), and
## s_inodes_count (1024 + 0) = 2^30 in an 8 MiB partition.
poke() { perl -e 'open F, "+<", $ARGV[0] or die; seek F, $ARGV[1], 0; print F pack("V", $ARGV[2])' "$@"; }
cp B.img F.img
inodes=$(od -An -t u4 -j $((P1 * 512 + 1024)) -N 4 F.img | tr -d ' ')
poke F.img $((P1 * 512 + 1024 + 16)) $((inodes + 100))
expect_exit 3 hexz-diff --files -b A.img F.img --direct > out 2> err
cat err
grep -q "partition 1 (ext4): files not compared: in MODIFIED damaged: .*free inodes of $inodes" err ||
  fail "free inodes > inodes is not reported"
cp B.img G.img
poke G.img $((P1 * 512 + 1024)) $((1 << 30))
expect_exit 3 hexz-diff --files -b A.img G.img --direct > out 2> err
cat err
grep -q "partition 1 (ext4): files not compared: in MODIFIED damaged" err || fail "2^30 inodes in 8 MiB accepted"
