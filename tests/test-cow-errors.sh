#!/usr/bin/env bash
# Bad input and the rules of the hexz-cow filter: a corrupt .meta (odd
# length, unsorted, duplicate, beyond the disk) and an overlay longer than the
# disk are refused with a message naming the file, and left untouched; the
# memory export refuses writes; an overlay is not reopened on another
# snapshot unless force=true; meta= overrides the default path and needs
# overlay=; the ephemeral overlay leaves nothing behind in $TMPDIR.
source "$srcdir/functions.sh"
requires nbdsh nbdinfo

head -c $((2 * 1024 * 1024 + 100)) /dev/urandom > "$tmp/disk.img"
head -c 300000 /dev/urandom > "$tmp/mem.img"
hexz-pack --memory "$tmp/mem.img" "$tmp/disk.img" "$tmp/a.st" > /dev/null
hexz-pack "$tmp/disk.img" "$tmp/b.st" > /dev/null
nblocks=$(((2 * 1024 * 1024 + 100 + 4095) / 4096))  # 513
ov="$tmp/t.overlay"
meta="$tmp/t.overlay.meta"

# meta_of N...: a .meta holding the u64 values N...
meta_of() { python3 -c 'import struct, sys; sys.stdout.buffer.write(b"".join(struct.pack("<Q", int(a)) for a in sys.argv[1:]))' "$@"; }

# refused PATTERN PLUGIN-ARGS...: nbdkit must not serve, and must say PATTERN.
refused() {
  local pattern=$1
  shift
  if $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$@" --run 'nbdinfo "$uri"' > "$tmp/out" 2>&1; then
    fail "accepted ($*): $(cat "$tmp/out")"
  fi
  grep -qF -- "$pattern" "$tmp/out" || fail "no message '$pattern' ($*): $(cat "$tmp/out")"
}

# Each bad .meta, over the hexz plugin (refused at start-up) and the file
# plugin (refused when the disk size is known, at the first connection).
for plugin in "$HEXZ_PLUGIN file=$tmp/a.st" "file $tmp/disk.img"; do
  : > "$ov"
  printf 'abcdefghijk' > "$meta"
  refused "$meta: malformed .meta: length 11 is not a multiple of 8" $plugin overlay="$ov"
  [ ! -e "$tmp/t.overlay.base" ] || fail "a refused start wrote .base"
  meta_of 1 5 3 > "$meta"
  refused "$meta: malformed .meta: entry 2 (block 3) is out of order" $plugin overlay="$ov"
  meta_of 1 5 5 > "$meta"
  refused "$meta: malformed .meta: entry 2 (block 5) is a duplicate" $plugin overlay="$ov"
  meta_of 1 $nblocks > "$meta"
  refused "$meta: malformed .meta: entry 1 names block $nblocks, beyond the end of the disk" $plugin overlay="$ov"
  cp "$meta" "$tmp/saved.meta"
  refused "$meta" $plugin overlay="$ov"
  cmp "$meta" "$tmp/saved.meta" || fail "a refused .meta was modified"
  # The last block is fine; an overlay one block longer than the disk is not.
  meta_of 1 $((nblocks - 1)) > "$meta"
  truncate -s $((nblocks * 4096 + 4096)) "$ov"
  refused "$ov: overlay is $((nblocks * 4096 + 4096)) bytes, longer than the disk" $plugin overlay="$ov"
  truncate -s $((nblocks * 4096)) "$ov"
  $NBDKIT -U - --filter="$HEXZ_COW_FILTER" $plugin overlay="$ov" --run 'nbdinfo "$uri"' > "$tmp/out" 2>&1 ||
    fail "a valid overlay was refused: $(cat "$tmp/out")"
  rm -f "$ov" "$meta" "$tmp/t.overlay.base"
done

# meta= needs overlay=, and overrides the default path.
refused "meta=" "$HEXZ_PLUGIN" file="$tmp/a.st" meta="$tmp/x.meta"
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/a.st" overlay="$ov" meta="$tmp/other.meta" \
  --run 'nbdsh -u "$uri" -c "h.pwrite(b\"x\" * 10, 4096 * 7 + 5)"' || fail "meta= run"
[ "$(od -An -tu8 "$tmp/other.meta" | tr -d ' ')" = 7 ] || fail "meta= file does not hold block 7"
[ ! -e "$meta" ] || fail "the default .meta was written although meta= was given"
rm -f "$ov" "$tmp/other.meta"

# The memory export is read-only through the filter, the disk is writable.
export tmp
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/a.st" overlay="$ov" --run '
nbdsh -u "nbd+unix:///memory?socket=$unixsocket" -c "
assert h.is_read_only()
try:
    h.pwrite(b\"x\" * 512, 0)
    raise SystemExit(\"write to the memory export succeeded\")
except nbd.Error as e:
    print(\"refused:\", e)
assert h.pread(300000, 0) == open(\"$tmp/mem.img\", \"rb\").read()
" && nbdsh -u "$uri" -c "assert not h.is_read_only(); h.pwrite(b\"y\" * 512, 0)"' > "$tmp/out" 2>&1 ||
  fail "memory export: $(cat "$tmp/out")"
grep -q "refused:" "$tmp/out" || fail "memory export: $(cat "$tmp/out")"
[ ! -s "$tmp/t.overlay.meta" ] || [ "$(od -An -tu8 "$tmp/t.overlay.meta" | tr -d ' ')" = 0 ] || fail "memory write reached .meta"

# The overlay now sits on a.st: .base says so; b.st is refused unless forced.
uuid_a=$(hexz-info "$tmp/a.st" | awk 'tolower($0) ~ /uuid/ {print $NF; exit}')
uuid_b=$(hexz-info "$tmp/b.st" | awk 'tolower($0) ~ /uuid/ {print $NF; exit}')
[ -n "$uuid_a" ] && [ -n "$uuid_b" ] && [ "$uuid_a" != "$uuid_b" ] || fail "hexz-info gave no UUIDs"
grep -qx "uuid=$uuid_a" "$tmp/t.overlay.base" || fail ".base does not name a.st ($uuid_a): $(cat "$tmp/t.overlay.base")"
grep -qx "path=a.st" "$tmp/t.overlay.base" || fail ".base path: $(cat "$tmp/t.overlay.base")"
grep -qx "disk-size=$((2 * 1024 * 1024 + 100))" "$tmp/t.overlay.base" || fail ".base disk-size: $(cat "$tmp/t.overlay.base")"
refused "$tmp/t.overlay.base: overlay $ov was written on top of snapshot $uuid_a" "$HEXZ_PLUGIN" file="$tmp/b.st" overlay="$ov"
grep -qx "uuid=$uuid_a" "$tmp/t.overlay.base" || fail "a refused reopen changed .base"
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/b.st" overlay="$ov" force=true \
  --run 'nbdsh -u "$uri" -c "assert h.pread(512, 0) == b\"y\" * 512"' || fail "force=true refused"
grep -qx "uuid=$uuid_b" "$tmp/t.overlay.base" || fail "force=true did not rewrite .base"

# Ephemeral overlay: works, and nothing is left in $TMPDIR (not even while
# nbdkit runs: the file is unlinked as soon as it is created).
mkdir "$tmp/tmpdir"
TMPDIR="$tmp/tmpdir" $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/a.st" --run '
nbdsh -u "$uri" -c "h.pwrite(b\"e\" * 9000, 100); assert h.pread(9000, 100) == b\"e\" * 9000"
ls -A "$tmp/tmpdir" > "$tmp/during"' || fail "ephemeral overlay"
[ ! -s "$tmp/during" ] || fail "ephemeral overlay visible in TMPDIR: $(cat "$tmp/during")"
[ -z "$(ls -A "$tmp/tmpdir")" ] || fail "ephemeral overlay left behind: $(ls -A "$tmp/tmpdir")"
