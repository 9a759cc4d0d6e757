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
#    and maps its partition as usual.
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
