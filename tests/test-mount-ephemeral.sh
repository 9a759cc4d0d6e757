#!/usr/bin/env bash
# hexz-mount --rw without --overlay: the writes live in a private temporary
# directory under $TMPDIR that disappears at unmount, and are then gone.
source "$srcdir/functions.sh"
source "$srcdir/mount-functions.sh"

make_snapshot a
mkdir "$tmp/t"
TMPDIR=$tmp/t mnt "$tmp/m" --rw "$tmp/a.st"
ls "$tmp/t"/hexz-mount.*/*.overlay >/dev/null 2>&1 || fail "no ephemeral overlay under \$TMPDIR: $(ls -R "$tmp/t")"
printf 'ephemeral' | dd of="$tmp/m/disk" bs=1 seek=777777 conv=notrunc,fsync status=none
[ "$(dd if="$tmp/m/disk" bs=1 skip=777777 count=9 status=none)" = ephemeral ] || fail "write not visible"
umnt "$tmp/m"
[ -z "$(ls -A "$tmp/t")" ] || fail "left behind at unmount: $(ls -R "$tmp/t")"

mnt "$tmp/m" "$tmp/a.st"
cmp "$tmp/m/disk" "$tmp/a.raw" || fail "ephemeral writes survived the unmount"
umnt "$tmp/m"

# Ending the daemon with SIGTERM cleans up too.
TMPDIR=$tmp/t mnt "$tmp/m" --rw "$tmp/a.st"
pid=$(cat "$tmp/m/.hexz-mount.pid")
kill -TERM "$pid"
wait_until 10 eval "! running $pid" || true
mountpoint -q "$tmp/m" && fail "still mounted after SIGTERM"
[ -z "$(ls -A "$tmp/t")" ] || fail "left behind after SIGTERM: $(ls -R "$tmp/t")"
