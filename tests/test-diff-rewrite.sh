#!/usr/bin/env bash
# Blocks rewritten with the bytes they already had (what qemu-img convert -n
# into an overlay does to a whole disk) are written, so the summary forms
# count them, but they changed nothing: --files names no file for them and
# counts them as "same as the base".  Only the file really changed is named.
# The reference is cmp of the raw disk against the one served through the
# overlay.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires hexz-diff hexz-pack mkfs.ext4 debugfs nbdsh nbdcopy cmp /usr/bin/python3
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"
cd "$tmp"

make_tree tree
make_ext4 disk.raw 32M tree
hexz-pack disk.raw base.st > /dev/null
# The first 8 MiB rewritten with their own bytes, then one block of
# random.bin really changed.
blk=$(debugfs disk.raw -R "bmap /data/random.bin 2" 2>/dev/null)
bs=$(debugfs disk.raw -R stats 2>/dev/null | sed -n 's/^Block size: *//p')
[ -n "$blk" ] && [ -n "$bs" ] || fail "debugfs found no block of random.bin"
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=vm.overlay --run "
  nbdsh -u \"\$uri\" -c '
for off in range(0, 8 << 20, 1 << 20):
    h.pwrite(h.pread(1 << 20, off), off)
h.pwrite(b\"CHANGED\" * 100, $blk * $bs)
h.flush()
' && nbdcopy \"\$uri\" after.raw" || fail "writing through hexz-cow failed"

written=$(meta_blocks vm.overlay.meta | wc -l)
changed=$(changed_blocks disk.raw after.raw | wc -l)
[ "$written" -ge 2048 ] || fail "only $written blocks written"
[ "$changed" = 1 ] || fail "cmp finds $changed changed blocks, not 1"

# The summary forms still count the writes.
hexz-diff vm.overlay > out
grep -qx "Modified Blocks: $written" out || fail "summary: $(cat out)"
hexz-diff vm.overlay --blocks > out
grep -qx "Modified Blocks: $written" out || fail "--blocks: $(cat out)"

hexz-diff vm.overlay --files > out || fail "--files failed"
cat out
grep -E '^[-+=] ' out > files || true
grep -Eq '^= - 0644 +300000 /data/random.bin \(1 modified block\)$' files || fail "the changed file is not named"
others=$(grep -v ' /data/random.bin ' files | grep -v ' / (' | grep -v ' /data (' || true)
[ -z "$others" ] || fail "files named for blocks rewritten unchanged: $others"
grep -qx "  same as the base: *$((written - changed))" out || fail "the unchanged rewrites are not counted as such"
sum=$(sed -n '/^Summary/,/^$/p' out | awk -F: 'NR > 1 && NF == 2 { s += $2 } END { print s }')
[ "$sum" = "$written" ] || fail "the summary accounts for $sum blocks, not $written"

hexz-diff vm.overlay --files --json > out.json
/usr/bin/python3 - "$written" "$changed" <<'PY' || fail "--files --json"
import json, sys
written, changed = int(sys.argv[1]), int(sys.argv[2])
j = json.load(open("out.json"))
s = j["summary"]
assert s["unchanged"] == written - changed, s
assert sum(s.values()) == written == j["modified_blocks"], s
PY

echo OK
