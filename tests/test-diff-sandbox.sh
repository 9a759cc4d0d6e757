#!/usr/bin/env bash
# hexz-diff parses guest disks in sandboxed workers (common/fs/sandbox.h):
#  - ISO 9660 images on which The Sleuth Kit deadlocks on its own lock
#    (tsk_fs_dir_find_orphans re-entered through tsk_fs_dir_walk,
#    sleuthkit#928; Debian's fls hangs on both): one whose path table size
#    is 0, one whose directories' "." records have length 0 (found by
#    fuzz-tsk).  TSK loads no file from either, so its root inode is its
#    orphan directory's number; hexz refuses to walk such a root.  That
#    partition alone is reported damaged at once, the ext4 partition next
#    to it still resolves, exit 3;
#  - a worker that never answers (the test-only hook hang:N) is killed by
#    the watchdog and reported as timed out for its partition alone;
#  - a worker made to call socket(2) through the test-only hook is killed by
#    the seccomp filter, reported for its partition alone (overlay mode);
#  - a worker made to open /etc/passwd is refused (no filesystem access)
#    and maps its partition as usual;
#  - ext files' contents and extended attributes (image mode) are read in a
#    confined worker too: a same-size content change and an attribute
#    change are found through it, and its death (syscall), its hang and its
#    open attempt are handled as the mapping workers' are, per partition.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires sfdisk mkfs.ext4 debugfs genisoimage perl nbdsh hexz-pack
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"

cd "$tmp"
mkdir tree && make_tree tree
N=8192 P1=2048 P2=$((2048 + 8192))
rm -f fs.img && truncate -s $((N * 512)) fs.img
mkfs.ext4 -q -F -b 4096 -d tree fs.img
cp fs.img fs-new.img
echo "added" > added.txt
debugfs -w fs-new.img -R "write added.txt /added.txt" > /dev/null 2>&1

# The ISOs: genisoimage's, then
#  - hang-pt.iso: the path table size (PVD bytes 132-139, both byte
#    orders) set to 0;
#  - hang-dot.iso: the length byte of the "." record of every directory
#    (the extents the L path table lists) set to 0.
mkdir iso && echo hello > iso/a.txt && mkdir iso/d && echo x > iso/d/b.txt
genisoimage -quiet -o good.iso iso
cp good.iso hang-pt.iso
perl -e 'open F, "+<", $ARGV[0] or die; seek F, 16 * 2048 + 132, 0; print F pack("V N", 0, 0)' hang-pt.iso
cp good.iso hang-dot.iso
perl -e '
  open F, "+<", $ARGV[0] or die; binmode F;
  sub at { my ($off, $n) = @_; seek F, $off, 0; read(F, my $b, $n) == $n or die "short read"; $b }
  my $pvd = at(16 * 2048, 2048);
  my ($size, $table) = (unpack("V", substr($pvd, 132, 4)), unpack("V", substr($pvd, 140, 4)));
  my $pt = at($table * 2048, $size);
  my $dirs = 0;
  for (my $i = 0; $i + 8 <= $size; ) {
    my ($len, $ext) = unpack("C x V", substr($pt, $i, 6));
    last unless $len;
    seek F, $ext * 2048, 0; print F "\0"; $dirs++;
    $i += 8 + $len + ($len & 1);
  }
  $dirs == 2 or die "expected 2 directories in the path table, found $dirs";
' hang-dot.iso
[ $(stat -c %s good.iso) -le $((N * 512)) ] || fail "the ISO does not fit its partition"

# disk FS-IMAGE ISO OUT: MBR, p1 = FS-IMAGE, p2 = ISO.
disk() {
  truncate -s $(((P2 + N) * 512)) "$3"
  printf 'label: dos\nstart=%d, size=%d, type=83\nstart=%d, size=%d, type=83\n' $P1 $N $P2 $N | sfdisk -q "$3"
  dd if="$1" of="$3" bs=512 seek=$P1 conv=notrunc status=none
  dd if="$2" of="$3" bs=512 seek=$P2 conv=notrunc status=none
}
disk fs.img good.iso sb-a.img

## The deadlocking ISOs (image mode): partition 2 damaged at once (well
## before the parser timeout, so not by the watchdog), partition 1 resolved.
for hang in hang-pt hang-dot; do
  disk fs-new.img $hang.iso sb-b.img
  start=$(date +%s)
  expect_exit 3 timeout 120 hexz-diff --files -b sb-a.img sb-b.img --direct --parser-timeout 60 > out 2> err
  cat out err
  [ $(($(date +%s) - start)) -lt 30 ] || fail "$hang: hexz-diff took $(($(date +%s) - start)) s"
  grep -q 'partition 2 (iso9660): files not compared: in MODIFIED damaged: iso9660: The Sleuth Kit found no file or directory record it can use' err ||
    fail "$hang: the unusable ISO is not reported for partition 2"
  grep -Eq '^\+ - 0644 +6 /added.txt$' out || fail "$hang: partition 1 not resolved next to the bad ISO"
  expect_exit 3 timeout 120 hexz-diff --files -b sb-a.img sb-b.img --direct --parser-timeout 60 --json > out.json 2> /dev/null
  python3 - out.json <<'PY' || fail "$hang --json: $(cat out.json)"
import json, sys
d = json.load(open(sys.argv[1]))
fs = {f["partition"]: f for f in d["filesystems"]}
assert fs[2]["compared"] is False and "no file or directory record" in fs[2]["message"], fs[2]
assert fs[1]["compared"] is True and any(c["path"] == "/added.txt" for c in fs[1]["changes"]), fs[1]
assert d["complete"] is False
PY
done

## A parser that never answers (the hook hang:2, image mode): the watchdog
## kills it after --parser-timeout and reports partition 2 alone.
disk fs-new.img good.iso sb-b.img
start=$(date +%s)
HEXZ_DIFF_SANDBOX_TEST=hang:2 expect_exit 3 timeout 60 hexz-diff --files -b sb-a.img sb-b.img --direct --parser-timeout 2 > out 2> err
cat out err
[ $(($(date +%s) - start)) -lt 30 ] || fail "the watchdog did not stop the hung parser in time"
grep -q 'partition 2 (iso9660): files not compared: damaged: filesystem parser timed out on untrusted data' err ||
  fail "the timeout is not reported for partition 2"
grep -Eq '^\+ - 0644 +6 /added.txt$' out || fail "partition 1 not resolved next to the hung parser"
# No stray worker is left behind.
sleep 0.5
! pgrep -f "hexz-diff --files -b sb-a.img sb-b.img" > /dev/null || fail "a worker outlived hexz-diff"

## A forbidden system call (overlay mode): partition 1 is killed by the
## filter, partition 2 (the good ISO on both sides) still resolves.
disk fs.img good.iso C.raw
disk fs-new.img good.iso D.raw
hexz-pack C.raw C.st > /dev/null
apply_through_filter C.st C.overlay C.raw D.raw
HEXZ_DIFF_SANDBOX_TEST=syscall:1 expect_exit 3 hexz-diff C.overlay --files > out 2> err
cat out err
grep -q 'partition 1 (ext4): filesystem parser was killed by the sandbox: it made a forbidden system call' err ||
  fail "the sandbox's kill is not reported for partition 1"
! grep -q 'partition 2' err || fail "partition 2 was damaged by partition 1's worker"
grep -Eq '^partition 1 \(ext4\): filesystem parser was killed by the sandbox.*: [0-9]+ blocks?$' out ||
  fail "partition 1's blocks are not counted as unresolved"
# Without the hook the same overlay resolves completely.
expect_exit 0 hexz-diff C.overlay --files > out 2> err
grep -Eq '^\+ - 0644 +6 /added.txt ' out || fail "partition 1 not resolved without the hook"

## No filesystem access: the worker cannot open /etc/passwd (it would abort).
HEXZ_DIFF_SANDBOX_TEST=open:1 expect_exit 0 hexz-diff --files -b C.raw D.raw --direct > out 2> err
cat out err
grep -Eq '^\+ - 0644 +6 /added.txt$' out || fail "the worker could open a path"

## The content worker (image mode, two ext4 partitions): each partition
## holds /data.txt, whose 6 bytes and mtime differ between the sides (same
## size: only reading the contents tells), and /etc/services, whose
## user.note attribute differs.
mk_ext() {  # mk_ext OUT CONTENT NOTE MTIME
  rm -f "$1" && truncate -s $((N * 512)) "$1"
  mkfs.ext4 -q -F -b 4096 -I 256 -d tree "$1"
  printf '%s\n' "$2" > data.txt
  debugfs -w "$1" -R "write data.txt /data.txt" > /dev/null 2>&1
  debugfs -w "$1" -R "set_inode_field /data.txt mtime $4" > /dev/null 2>&1
  debugfs -w "$1" -R "ea_set /etc/services user.note $3" > /dev/null 2>&1
  debugfs "$1" -R "ea_get /etc/services user.note" 2>/dev/null | grep -q "$3" || fail "debugfs did not set the attribute on $1"
}
mk_ext e1.img hello note-a 202001010000
mk_ext e2.img HELLO note-b 202101010000
disk e1.img e1.img ca.img
disk e2.img e2.img cb.img
expect_exit 0 hexz-diff --files -b ca.img cb.img --direct --xattrs > out 2> err
cat out err
for p in 1 2; do
  grep -A3 "^# partition $p (ext4)" out | grep -Eq '^= - 0644 +6 /data.txt' ||
    fail "partition $p: the same-size content change is not found"
done
[ $(grep -Ec '^\+ - 0644 +[0-9]+ /etc/services user.note note-b$' out) = 2 ] ||
  fail "the changed attribute is not shown for both partitions"
[ $(grep -c '^# changed: xattrs$' out) = 2 ] || fail "the attribute change is not named for both partitions"
expect_exit 0 hexz-diff --files -b ca.img cb.img --direct --checksum=sha256 > out 2> err
grep -q "$(printf 'hello\n' | sha256sum | cut -c1-64) /data.txt" out ||
  fail "--checksum did not read the file's contents: $(cat out)"

# Its forbidden system call: partition 2 not compared, partition 1 resolved.
HEXZ_DIFF_SANDBOX_TEST=content-syscall:2 expect_exit 3 hexz-diff --files -b ca.img cb.img --direct > out 2> err
cat out err
grep -q 'partition 2 (ext4): files not compared: ca.img: file content reader was killed by the sandbox: it made a forbidden system call' err ||
  fail "the content worker's death is not reported for partition 2"
grep -Eq '^= - 0644 +6 /data.txt' out || fail "partition 1 not resolved next to the killed content worker"
! grep -q 'partition 1 (ext4): files not compared' err || fail "partition 1 was damaged by partition 2's content worker"
HEXZ_DIFF_SANDBOX_TEST=content-syscall:2 expect_exit 3 hexz-diff --files -b ca.img cb.img --direct --json > out.json 2> /dev/null
python3 - out.json <<'PY' || fail "content worker --json: $(cat out.json)"
import json, sys
d = json.load(open(sys.argv[1]))
fs = {f["partition"]: f for f in d["filesystems"]}
assert fs[2]["compared"] is False and "killed by the sandbox" in fs[2]["message"], fs[2]
assert fs[1]["compared"] is True and [c["path"] for c in fs[1]["changes"]] == ["/data.txt"], fs[1]
assert d["complete"] is False
PY

# Its hang: the watchdog kills it after --parser-timeout.
start=$(date +%s)
HEXZ_DIFF_SANDBOX_TEST=content-hang:1 expect_exit 3 timeout 60 hexz-diff --files -b ca.img cb.img --direct --parser-timeout 2 > out 2> err
cat out err
[ $(($(date +%s) - start)) -lt 30 ] || fail "the watchdog did not stop the hung content worker in time"
grep -q 'partition 1 (ext4): files not compared: ca.img: file content reader timed out on untrusted data' err ||
  fail "the content worker's timeout is not reported for partition 1"
grep -Eq '^= - 0644 +6 /data.txt' out || fail "partition 2 not resolved next to the hung content worker"
sleep 0.5
! pgrep -f "hexz-diff --files -b ca.img cb.img" > /dev/null || fail "a content worker outlived hexz-diff"

# It cannot open a path either (it would abort).
HEXZ_DIFF_SANDBOX_TEST=content-open:1 expect_exit 0 hexz-diff --files -b ca.img cb.img --direct > out 2> err
[ $(grep -Ec '^= - 0644 +6 /data.txt' out) = 2 ] || fail "the content worker could open a path: $(cat out err)"
