#!/usr/bin/env bash
# hexz-mount read-only: disk and memory read back byte for byte, writes are
# refused with EROFS, owners, and a snapshot without a memory stream.
source "$srcdir/functions.sh"
source "$srcdir/mount-functions.sh"

make_snapshot a
mnt "$tmp/m" "$tmp/a.st"
[ "$(ls -A "$tmp/m" | tr '\n' ' ')" = "disk memory " ] || fail "mount holds: $(ls -A "$tmp/m")"
cmp "$tmp/m/disk" "$tmp/a.raw" || fail "disk differs from the original"
cmp "$tmp/m/memory" "$tmp/a.mem" || fail "memory differs from the original"
[ "$(stat -c %s "$tmp/m/disk")" = "$(stat -c %s "$tmp/a.raw")" ] || fail "disk size"
[ "$(stat -c %u:%g "$tmp/m/disk")" = "$(id -u):$(id -g)" ] || fail "owner is not the invoking user"

# Reads at unaligned offsets, with several readers at once.
for off in 1 4095 65535 123457 9999999; do
  cmp <(dd if="$tmp/m/disk" bs=1 skip=$off count=7000 status=none) \
      <(dd if="$tmp/a.raw" bs=1 skip=$off count=7000 status=none) || fail "read at $off"
done &
cmp "$tmp/m/disk" "$tmp/a.raw" || fail "parallel read"
wait $! || fail "unaligned reads"

# Writes are refused with EROFS (and change nothing).
if out=$(printf x | dd of="$tmp/m/disk" conv=notrunc 2>&1); then fail "write to a read-only mount succeeded"; fi
case $out in *"Read-only file system"*) ;; *) fail "write refused with: $out" ;; esac
if printf x 2>/dev/null > "$tmp/m/memory"; then fail "write to memory succeeded"; fi
if touch "$tmp/m/new" 2>/dev/null; then fail "file creation succeeded"; fi
cmp "$tmp/m/disk" "$tmp/a.raw" || fail "disk changed"
umnt "$tmp/m"

# --uid/--gid, and no memory file without a memory stream.
hexz-pack "$tmp/a.raw" "$tmp/nomem.st"
mnt "$tmp/m" --uid 1234 --gid 5678 "$tmp/nomem.st"
[ "$(ls "$tmp/m")" = disk ] || fail "mount without memory stream holds: $(ls "$tmp/m")"
[ "$(stat -c %u:%g "$tmp/m/disk")" = 1234:5678 ] || fail "--uid/--gid: $(stat -c %u:%g "$tmp/m/disk")"
cmp "$tmp/m/disk" "$tmp/a.raw" || fail "disk differs (no memory stream)"
umnt "$tmp/m"

# Paths with spaces and commas (libfuse options, /proc/self/mountinfo escapes).
mkdir "$tmp/a b,c"
cp "$tmp/nomem.st" "$tmp/a b,c/s n,p.st"
mnt "$tmp/a b,c" "$tmp/a b,c/s n,p.st"
cmp "$tmp/a b,c/disk" "$tmp/a.raw" || fail "mount at a path with a space and a comma"
umnt "$tmp/a b,c"
