#!/usr/bin/env bash
# hexz-cow in a directory it cannot write (as root without the capabilities
# that let root ignore permissions, see without_dac): with an existing,
# writable overlay in a 0555 directory, every flush would have to create a
# new .meta there and fail, so the filter serves the overlay read-only from
# start-up: the export is read-only, a write is refused with EPERM (not
# EINVAL, which is what nbdkit sends for EACCES), and the overlay, .meta and
# .base are left as they were.  With the directory writable again, the same
# overlay is writable, and its first flush also syncs the overlay's own
# directory when meta= is elsewhere.
source "$srcdir/functions.sh"
requires nbdsh nbdinfo setpriv

head -c $((1024 * 1024)) /dev/urandom > "$tmp/disk.img"
hexz-pack "$tmp/disk.img" "$tmp/a.st" > /dev/null
mkdir "$tmp/ro"
ov="$tmp/ro/vm.overlay"
# A first run (directory writable) leaves an overlay with one block written.
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/a.st" overlay="$ov" \
  --run 'nbdsh -u "$uri" -c "h.pwrite(b\"x\" * 4096, 8192); h.flush()"'
[ -s "$ov.meta" ] || fail "the first run left no .meta"
chmod 0555 "$tmp/ro"
cleanup_fn "chmod 0755 '$tmp/ro'"
before=$(md5sum "$ov" "$ov.meta" "$ov.base")

without_dac $NBDKIT -v -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/a.st" overlay="$ov" \
  --run 'nbdsh -u "$uri" -c "
import errno
assert h.is_read_only(), \"export is writable\"
assert h.pread(4096, 8192) == b\"x\" * 4096, \"the overlay is not served\"
"' > "$tmp/out" 2>&1 || fail "read-only serving failed: $(cat "$tmp/out")"
grep -q "serving read-only: $ov.meta: cannot create files in $tmp/ro (Permission denied)" "$tmp/out" ||
  fail "no reason given: $(cat "$tmp/out")"
[ "$(md5sum "$ov" "$ov.meta" "$ov.base")" = "$before" ] || fail "the read-only run changed the side files"

# The directory becomes unwritable while nbdkit runs: the flush fails, and
# the client sees EPERM.
chmod 0755 "$tmp/ro"
without_dac $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/a.st" overlay="$ov" \
  --run 'nbdsh -u "$uri" -c "
import errno, os
os.chmod(\"'"$tmp/ro"'\", 0o555)
h.pwrite(b\"y\" * 4096, 0)
try:
    h.flush()
    raise SystemExit(\"the flush succeeded\")
except nbd.Error as e:
    assert e.errno in (\"EPERM\", errno.EPERM), (e.errno, e)
"' > "$tmp/out" 2>&1 || fail "flush in an unwritable directory: $(cat "$tmp/out")"

# meta= in another directory: the overlay's directory is synced too (seen
# with strace when it is there; the data is checked in any case).
chmod 0755 "$tmp/ro"
mkdir "$tmp/m"
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/a.st" overlay="$tmp/ro/new.overlay" \
  meta="$tmp/m/new.meta" --run 'nbdsh -u "$uri" -c "h.pwrite(b\"z\" * 4096, 0); h.flush()"'
[ "$(meta_blocks "$tmp/m/new.meta")" = 0 ] || fail "meta= elsewhere: wrong .meta"
