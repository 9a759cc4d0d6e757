#!/usr/bin/env bash
# A file system inside the mounted disk: fuse2fs opens MOUNT/disk read-write
# (no root needed), a file is created, everything is unmounted; then the
# snapshot's disk with the .meta blocks taken from the overlay must equal
# the disk as fuse2fs left it, and debugfs must find the file in it.
source "$srcdir/functions.sh"
source "$srcdir/mount-functions.sh"
requires fuse2fs debugfs

make_snapshot a
ov=$tmp/vm.overlay
mnt "$tmp/m" --rw --overlay "$ov" "$tmp/a.st"

mkdir -p "$tmp/fs"
start_server fuse2fs_pid "mountpoint -q '$tmp/fs'" fuse2fs -f -o fakeroot "$tmp/m/disk" "$tmp/fs"
cleanup_fn "mountpoint -q '$tmp/fs' && fusermount3 -u '$tmp/fs'; wait $fuse2fs_pid"
cmp "$tmp/fs/etc/services" "$tmp/a.tree/etc/services" || fail "reading a file through fuse2fs"
seq 1 20000 > "$tmp/fs/hello.txt"
mkdir "$tmp/fs/newdir"
fusermount3 -u "$tmp/fs"
wait $fuse2fs_pid || fail "fuse2fs exited with an error"
fuse2fs_pid=

cp "$tmp/m/disk" "$tmp/after.raw"
umnt "$tmp/m"

# Rebuild the disk from the snapshot plus the overlay's listed blocks.
cp "$tmp/a.raw" "$tmp/rebuilt.raw"
meta_blocks "$ov.meta" > "$tmp/blocks"
echo "$(wc -l < "$tmp/blocks") blocks changed"
[ -s "$tmp/blocks" ] || fail ".meta is empty after fuse2fs wrote"
while read -r b; do
  dd if="$ov" of="$tmp/rebuilt.raw" bs=4096 skip="$b" seek="$b" count=1 conv=notrunc status=none
done < "$tmp/blocks"
cmp "$tmp/rebuilt.raw" "$tmp/after.raw" || fail "snapshot + .meta blocks of the overlay != the disk fuse2fs left"

# Every changed 4K block is listed (the rebuild proves it); and the file is there.
cmp -l "$tmp/a.raw" "$tmp/after.raw" | awk '{print int(($1 - 1) / 4096)}' | uniq > "$tmp/changed" || true
[ -z "$(comm -23 <(sort -u "$tmp/changed") <(sort -u "$tmp/blocks"))" ] || fail "changed blocks missing from .meta"
debugfs -R "cat /hello.txt" "$tmp/rebuilt.raw" 2>/dev/null | cmp - <(seq 1 20000) || fail "hello.txt in the rebuilt disk"
debugfs -R "stat /newdir" "$tmp/rebuilt.raw" 2>/dev/null | grep -q "Type: directory" || fail "newdir missing"

# hexz-diff --files names what fuse2fs created (where hexz-diff is built).
if command -v hexz-diff >/dev/null && hexz-diff --help 2>&1 | grep -q -- --files; then
  hexz-diff "$ov" --files --base "$tmp/a.st" > "$tmp/diff.txt" || fail "hexz-diff --files failed"
  grep -q '^+ .* /hello.txt' "$tmp/diff.txt" || fail "hexz-diff --files does not name /hello.txt: $(cat "$tmp/diff.txt")"
  grep -q '^+ .* /newdir' "$tmp/diff.txt" || fail "hexz-diff --files does not name /newdir: $(cat "$tmp/diff.txt")"
fi
