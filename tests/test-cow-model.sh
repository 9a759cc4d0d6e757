#!/usr/bin/env bash
# Model-based test of the hexz-cow filter (tests/cow-model.py): thousands of
# random aligned and unaligned writes, zeroes, trims, flushes, bursts of
# parallel writes sharing blocks, reads and block status, each read checked
# against an in-memory model, over nbdkit's file plugin on a raw image and
# over the hexz plugin on the same image packed.  Afterwards .meta must equal
# the model's set of touched 4 KiB blocks byte for byte (so it is sorted,
# unique and in range), a restart on the same overlay must serve exactly the
# model (nbdcopy + cmp), and the base must be untouched.
source "$srcdir/functions.sh"
requires nbdsh nbdcopy fallocate

# A disk whose size is not a multiple of 4096, with holes in the base.
head -c $((8 * 1024 * 1024 + 1234)) /dev/urandom > "$tmp/base.img"
fallocate -p -o 40960 -l 262144 "$tmp/base.img"
fallocate -p -o $((8 * 1024 * 1024 - 100000)) -l 50000 "$tmp/base.img"
cp "$tmp/base.img" "$tmp/base.orig"
hexz-pack -b 16K "$tmp/base.img" "$tmp/base.st" > /dev/null

export BASE="$tmp/base.img" tmp srcdir
run() {  # NAME PLUGIN ARGS...
  local name=$1
  shift
  local ov="$tmp/$name.overlay"
  SEED=$RANDOM OPS=4000 EXPECT="$tmp/$name.expect" TOUCHED="$tmp/$name.touched" \
    $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$@" overlay="$ov" \
    --run 'SOCK=$unixsocket python3 "$srcdir/cow-model.py"' > "$tmp/out" 2>&1 ||
    fail "$name: $(cat "$tmp/out")"
  grep -q '^ok ' "$tmp/out" || fail "$name: $(cat "$tmp/out")"
  cmp "$tmp/$name.touched" "$tmp/$name.overlay.meta" || fail "$name: .meta differs from the model's touched blocks"
  # Reopened (read-only, and read-write), the overlay serves the model.
  $NBDKIT -U - -r --filter="$HEXZ_COW_FILTER" "$@" overlay="$ov" \
    --run 'nbdcopy "$uri" "$tmp/copy.img"' || fail "$name: nbdcopy"
  cmp "$tmp/copy.img" "$tmp/$name.expect" || fail "$name: reopened overlay differs from the model"
  $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$@" overlay="$ov" \
    --run 'nbdcopy "$uri" "$tmp/copy.img"' || fail "$name: nbdcopy"
  cmp "$tmp/copy.img" "$tmp/$name.expect" || fail "$name: reopened overlay differs from the model"
  cmp "$tmp/$name.touched" "$tmp/$name.overlay.meta" || fail "$name: .meta changed by a read-only reopen"
  # The overlay never grows past the disk rounded up to 4 KiB.
  [ "$(stat -c %s "$ov")" -le $(((8 * 1024 * 1024 + 1234 + 4095) / 4096 * 4096)) ] || fail "$name: overlay too long"
  echo "$name: $(cat "$tmp/out")"
}

run file file "$tmp/base.img"
run hexz "$HEXZ_PLUGIN" file="$tmp/base.st"
cmp "$tmp/base.img" "$tmp/base.orig" || fail "the base image was modified"
grep -q '^uuid=' "$tmp/hexz.overlay.base" || fail "no .base record beside the hexz overlay"
[ ! -e "$tmp/file.overlay.base" ] || fail "a .base record was written for a non-hexz plugin"
