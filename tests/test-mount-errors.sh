#!/usr/bin/env bash
# hexz-mount / hexz-unmount errors and exit codes: --daemon reports a bad
# snapshot before detaching, --nbd without the nbd module exits 2, usage
# errors exit 2, hexz-unmount refuses what is not a hexz mount.
source "$srcdir/functions.sh"
source "$srcdir/mount-functions.sh"

mkdir -p "$tmp/m"
cleanup_fn "mountpoint -q '$tmp/m' && hexz-unmount '$tmp/m'"

# expect CODE PATTERN CMD...: CMD exits with CODE and says PATTERN.
expect() {
  local code=$1 pattern=$2 rc=0
  shift 2
  "$@" > "$tmp/out" 2>&1 || rc=$?
  [ "$rc" = "$code" ] || fail "'$*' exited $rc, not $code: $(cat "$tmp/out")"
  grep -q -- "$pattern" "$tmp/out" || fail "'$*' did not say '$pattern': $(cat "$tmp/out")"
  if mountpoint -q "$tmp/m"; then fail "'$*' left a mount behind"; fi
}

make_snapshot a
# Damaged snapshots: garbage, truncated, one flipped byte in the header.
echo garbage > "$tmp/bad.st"
head -c 6000 "$tmp/a.st" > "$tmp/short.st"
cp "$tmp/a.st" "$tmp/flip.st"
printf '\377' | dd of="$tmp/flip.st" bs=1 seek=40 conv=notrunc status=none
for f in bad short flip; do
  expect 1 "$tmp/$f.st" hexz-mount --daemon "$tmp/$f.st" "$tmp/m"
done
expect 1 "No such file" hexz-mount --daemon "$tmp/missing.st" "$tmp/m"
expect 1 "not a directory" hexz-mount --daemon "$tmp/a.st" "$tmp/a.raw"
# A bad overlay: its .meta is not a multiple of 8 bytes (nbdkit's own error).
printf 'xyz' > "$tmp/o.overlay.meta"
expect 1 "o.overlay.meta" hexz-mount --daemon --rw --overlay "$tmp/o.overlay" "$tmp/a.st" "$tmp/m"

# --nbd: a clear error and exit 2 where the kernel module is missing.
if [ ! -e /sys/module/nbd ] && [ ! -e /dev/nbd0 ]; then
  expect 2 "nbd kernel module" hexz-mount --nbd "$tmp/a.st" /dev/nbd0
fi

# Usage errors.
expect 2 "expected SNAPSHOT.st and MOUNTPOINT" hexz-mount "$tmp/a.st"
expect 2 "needs --rw" hexz-mount --overlay "$tmp/o.overlay" "$tmp/a.st" "$tmp/m"
expect 2 "not a numeric id" hexz-mount --uid bob "$tmp/a.st" "$tmp/m"
expect 2 "cache-size" hexz-mount --cache-size lots "$tmp/a.st" "$tmp/m"
expect 2 "unrecognized option" hexz-mount --bogus "$tmp/a.st" "$tmp/m"
expect 2 "expected MOUNTPOINT" hexz-unmount
expect 0 "Usage: hexz-mount" hexz-mount --help
expect 0 "Exit status" hexz-unmount --help
expect 0 "hexz-mount [0-9]" hexz-mount --version
expect 0 "hexz-unmount [0-9]" hexz-unmount --version

# hexz-unmount refuses what it did not mount.
expect 1 "is not mounted" hexz-unmount "$tmp/m"
expect 1 "No such file" hexz-unmount "$tmp/nowhere"
if command -v fuse2fs >/dev/null; then
  mkdir "$tmp/other"
  fuse2fs -o ro,fakeroot "$tmp/a.raw" "$tmp/other"
  cleanup_fn "fusermount3 -u '$tmp/other' 2>/dev/null"
  expect 1 "not a hexz-mount mount point" hexz-unmount "$tmp/other"
  mountpoint -q "$tmp/other" || fail "hexz-unmount unmounted a fuse2fs mount"
  fusermount3 -u "$tmp/other"
fi

# A mount whose process died (ENOTCONN) can still be unmounted.
mnt "$tmp/m" "$tmp/a.st"
kill -KILL "$(cat "$tmp/m/.hexz-mount.pid")"
wait_until 5 eval "! ls '$tmp/m' >/dev/null 2>&1" || true
umnt "$tmp/m"

# --cache-size reaches the plugin: a working mount with a tiny cache.
mnt "$tmp/m" --cache-size 64K "$tmp/a.st"
cmp "$tmp/m/disk" "$tmp/a.raw" || fail "--cache-size 64K"
umnt "$tmp/m"
