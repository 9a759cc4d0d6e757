#!/usr/bin/env bash
# hexz-mount refuses what would hide or share state: an overlay another
# nbdkit serves ("overlay in use by pid N", before anything is mounted, in
# both the foreground and --daemon forms), and a directory that is already a
# mount point (--daemon three times used to stack three mounts on it).
source "$srcdir/functions.sh"
source "$srcdir/mount-functions.sh"
requires nbdsh

make_snapshot s
cd "$tmp"

# count DIR: how many mounts /proc/self/mountinfo lists on DIR.
count() { awk -v d="$(realpath "$1")" '$5 == d' /proc/self/mountinfo | wc -l; }

# An overlay held by another nbdkit.
start_nbdkit "$tmp/sock" --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=s.st overlay=vm.overlay
nbdsh -u "nbd+unix:///?socket=$tmp/sock" -c 'h.pwrite(b"y" * 4096, 0); h.flush()'
mkdir -p m
for daemon in "" --daemon; do
  expect_error 1 "vm.overlay: overlay in use by pid $nbdkit_pid " hexz-mount $daemon --rw --overlay vm.overlay s.st m
  grep -q "no export" "$tmp/err" && fail "the NBD error leaked: $(cat "$tmp/err")"
  [ "$(count m)" = 0 ] || fail "mounted although the overlay is in use"
done
kill "$nbdkit_pid"
wait_until 10 eval '! running $nbdkit_pid' || fail "nbdkit did not exit"
nbdkit_pid=

# Now free: it mounts, with the writes made through the other server.
mnt m --rw --overlay vm.overlay s.st
[ "$(head -c 4096 m/disk | tr -d y | wc -c)" = 0 ] || fail "the overlay's write is not visible"
# A second and third mount on the same directory are refused.
for i in 2 3; do
  expect_error 1 "is already a mount point (fuse.hexz); unmount it first (hexz-unmount" hexz-mount --daemon s.st m
  [ "$(count m)" = 1 ] || fail "mount $i stacked on m: $(count m) mounts"
done
# ... also without --daemon, and read-write on the same overlay.
expect_error 1 "is already a mount point" hexz-mount s.st m
expect_error 1 "already a mount point\|overlay in use" hexz-mount --rw --overlay vm.overlay s.st m
[ "$(count m)" = 1 ] || fail "a mount stacked on m"
# The one mount still works, and unmounts cleanly.
cmp <(head -c 4096 m/disk) <(head -c 4096 /dev/zero | tr '\0' y) || fail "the mount was disturbed"
umnt m
[ "$(count m)" = 0 ] || fail "a mount is left on m"
exit 0
