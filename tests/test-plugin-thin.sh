#!/usr/bin/env bash
# A thin snapshot is served through its parent: copies equal the new image
# (changed blocks from the child, the rest from the parent, zeroes where the
# parent is shorter), the map is exact, and a missing or replaced parent
# makes nbdkit fail at start-up naming the file.
source "$srcdir/functions.sh"
requires mkfs.ext4 nbdcopy nbdinfo nbdsh cmp

make_tree "$tmp/tree"
make_ext4 "$tmp/base.img" 16M "$tmp/tree"
hexz-pack -b 16K "$tmp/base.img" "$tmp/base.st"

# The new image: some blocks rewritten, one zeroed, and grown by 1 MiB with
# data only near its end.
cp "$tmp/base.img" "$tmp/new.img"
head -c 40000 /dev/urandom | dd of="$tmp/new.img" bs=1 seek=100000 conv=notrunc status=none
seq 1 20000 | dd of="$tmp/new.img" bs=1 seek=$((9 * 1024 * 1024 + 5)) conv=notrunc status=none
dd if=/dev/zero of="$tmp/new.img" bs=16K seek=1 count=1 conv=notrunc status=none
truncate -s $((17 * 1024 * 1024 + 333)) "$tmp/new.img"
printf 'end' | dd of="$tmp/new.img" bs=1 seek=$((17 * 1024 * 1024 + 100)) conv=notrunc status=none

mkdir "$tmp/chain"
cp "$tmp/base.st" "$tmp/chain/base.st"
./make-thin "$tmp/chain/base.st" "$tmp/new.img" "$tmp/chain/child.st" > "$tmp/stats"
grep -q "^[1-9][0-9]* parent blocks" "$tmp/stats" || fail "no parent blocks: $(cat "$tmp/stats")"
hexz-info "$tmp/chain/child.st" | grep -qi parent || fail "hexz-info does not show a parent"

export tmp
for args in "" cache-size=0; do
  rm -f "$tmp/out.img"
  $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/chain/child.st" $args --run '
    nbdcopy --connections=2 "$uri" "$tmp/out.img" && nbdinfo --map --json "$uri" > "$tmp/map.json"' ||
    fail "serving the thin snapshot failed"
  cmp "$tmp/new.img" "$tmp/out.img" || fail "thin snapshot $args: data differs"
  /usr/bin/python3 "$srcdir/plugin-map-check.py" "$tmp/new.img" "$tmp/map.json" 16384 ||
    fail "thin snapshot: wrong map"
done

# The chain keeps working when moved as a whole (relative parent path).
mv "$tmp/chain" "$tmp/moved"
rm -f "$tmp/out.img"
$NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/moved/child.st" --run 'nbdcopy "$uri" "$tmp/out.img"'
cmp "$tmp/new.img" "$tmp/out.img" || fail "moved chain: data differs"

# Parent missing.  (Not under ASan: there nbdkit's exit after a failure
# with a strerror message deadlocks in p11-kit's destructor, outside hexz.)
mv "$tmp/moved/base.st" "$tmp/base-away.st"
if [ -z "${HEXZ_ASAN_PRELOAD:-}" ]; then
  if $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/moved/child.st" --run true 2> "$tmp/err"; then
    fail "started without the parent"
  fi
  grep -q "child.st: cannot open parent" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
fi
# Parent replaced by another snapshot.
hexz-pack -b 16K "$tmp/base.img" "$tmp/moved/base.st"
if $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/moved/child.st" --run true 2> "$tmp/err"; then
  fail "started with the wrong parent"
fi
grep -q "child.st: parent .* has UUID" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
