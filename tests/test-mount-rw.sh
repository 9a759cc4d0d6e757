#!/usr/bin/env bash
# hexz-mount --rw --overlay: writes at unaligned offsets land in the overlay
# and its .meta (fsync makes them durable while mounted), a remount shows
# them, and the snapshot itself never changes.  The expected disk is a raw
# copy with the same writes applied by dd.
source "$srcdir/functions.sh"
source "$srcdir/mount-functions.sh"

make_snapshot a
cp "$tmp/a.raw" "$tmp/expected.raw"
st_sum=$(md5sum < "$tmp/a.st")
ov=$tmp/vm.overlay

# write FILE OFFSET TEXT: TEXT at byte OFFSET, without truncating.
write() {
  printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# Offsets (and the 4 KiB blocks they touch): inside block 1; across blocks
# 3/4; the very end of the disk (block 4095); the first byte (block 0).
writes=("5001 hello" "16380 across-a-boundary" "16777210 theEnd" "0 Z")
mnt "$tmp/m" --rw --overlay "$ov" "$tmp/a.st"
[ -w "$tmp/m/disk" ] && [ ! -w "$tmp/m/memory" ] || [ "$(id -u)" = 0 ] || fail "permissions"
for w in "${writes[@]}"; do
  set -- $w
  write "$tmp/m/disk" "$1" "$2"
  write "$tmp/expected.raw" "$1" "$2"
done
# Punching a hole (a VM's discard) zeroes the range: blocks 244 to 246.
fallocate -p -o 1000000 -l 10000 "$tmp/m/disk"
dd if=/dev/zero of="$tmp/expected.raw" bs=1 seek=1000000 count=10000 conv=notrunc status=none
cmp "$tmp/m/disk" "$tmp/expected.raw" || fail "disk does not read back the writes"

# fsync is an NBD flush: the .meta lists the blocks while still mounted.
dd if=/dev/null of="$tmp/m/disk" conv=notrunc,fsync status=none
[ "$(meta_blocks "$ov.meta" | tr '\n' ' ')" = "0 1 3 4 244 245 246 4095 " ] ||
  fail "after fsync, .meta holds: $(meta_blocks "$ov.meta" | tr '\n' ' ')"

# Past the end of the disk: out of space, the size stays.
if printf x | dd of="$tmp/m/disk" bs=1 seek=16777216 conv=notrunc status=none 2>/dev/null; then
  fail "write past the end succeeded"
fi
[ "$(stat -c %s "$tmp/m/disk")" = 16777216 ] || fail "disk size changed"
umnt "$tmp/m"

# The overlay holds the written bytes at their own offsets.
for w in "${writes[@]}"; do
  set -- $w
  got=$(dd if="$ov" bs=1 skip="$1" count=${#2} status=none)
  [ "$got" = "$2" ] || fail "overlay at $1 holds '$got', not '$2'"
done
[ "$(meta_blocks "$ov.meta" | tr '\n' ' ')" = "0 1 3 4 244 245 246 4095 " ] || fail ".meta after unmount"
grep -qx "path=a.st" "$ov.base" || fail ".base does not name the snapshot"

# A remount with the overlay shows the writes; without it, the original.
mnt "$tmp/m" --rw --overlay "$ov" "$tmp/a.st"
cmp "$tmp/m/disk" "$tmp/expected.raw" || fail "remount with the overlay"
cmp "$tmp/m/memory" "$tmp/a.mem" || fail "memory with the overlay"
umnt "$tmp/m"
mnt "$tmp/m" "$tmp/a.st"
cmp "$tmp/m/disk" "$tmp/a.raw" || fail "the snapshot's own disk changed"
umnt "$tmp/m"
[ "$(md5sum < "$tmp/a.st")" = "$st_sum" ] || fail "the .st file was modified"

# SIGTERM to a foreground hexz-mount unmounts, flushes and exits 0.
mkdir -p "$tmp/f"
start_server pid "[ -e '$tmp/f/disk' ]" hexz-mount --rw --overlay "$tmp/f.overlay" "$tmp/a.st" "$tmp/f"
write "$tmp/f/disk" 40000 sigterm   # block 9, not fsynced
kill -TERM $pid
wait $pid || fail "hexz-mount exited with $? after SIGTERM"
pid=
mountpoint -q "$tmp/f" && fail "still mounted after SIGTERM"
[ "$(meta_blocks "$tmp/f.overlay.meta")" = 9 ] || fail "SIGTERM did not flush: .meta holds $(meta_blocks "$tmp/f.overlay.meta")"
[ "$(dd if="$tmp/f.overlay" bs=1 skip=40000 count=7 status=none)" = sigterm ] || fail "SIGTERM: overlay data"
