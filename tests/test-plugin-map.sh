#!/usr/bin/env bash
# nbdinfo --map through nbdkit hexz reports exactly the image's all-zero
# blocks as holes (and everything else as data), for two block sizes and for
# a stream whose last block is short; the holes really read as zeroes.
source "$srcdir/functions.sh"
requires mkfs.ext4 nbdinfo /usr/bin/python3

make_tree "$tmp/tree"
make_ext4 "$tmp/disk.img" 16M "$tmp/tree"
# Data far out after a zero gap, and a short last block.
printf 'tail data' | dd of="$tmp/disk.img" bs=1 seek=$((24 * 1024 * 1024)) conv=notrunc status=none
truncate -s $((24 * 1024 * 1024 + 5000)) "$tmp/disk.img"

export tmp
for bs in 4K 64K; do
  hexz-pack -f -b $bs "$tmp/disk.img" "$tmp/disk.st"
  $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/disk.st" --run 'nbdinfo --map --json "$uri"' > "$tmp/map.json"
  /usr/bin/python3 "$srcdir/plugin-map-check.py" "$tmp/disk.img" "$tmp/map.json" $((${bs%K} * 1024)) ||
    fail "block size $bs: wrong map"
done
