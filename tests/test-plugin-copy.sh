#!/usr/bin/env bash
# Whole-stream copies through nbdkit hexz are byte-identical to the images
# that were packed: nbdcopy (also with 4 connections) and qemu-img convert,
# disk and memory exports, for every compression method and several block
# sizes, with stream sizes that are not a multiple of the block size.
source "$srcdir/functions.sh"
requires mkfs.ext4 nbdcopy qemu-img cmp

make_tree "$tmp/tree"
make_ext4 "$tmp/disk.img" 12M "$tmp/tree"
# A short last block, and a run of zeroes after real data.
truncate -s $((12 * 1024 * 1024 + 12345)) "$tmp/disk.img"
head -c 3000007 /dev/urandom > "$tmp/mem.img"
seq 1 200000 >> "$tmp/mem.img"

export tmp
# In sanitizer builds $NBDKIT preloads ASan, which --run passes on to its
# commands; qemu-img's coroutines hang under it, so it runs without.
copy_and_compare() {  # copy_and_compare SNAPSHOT [plugin params...]
  local st=$1
  shift
  rm -f "$tmp/out.img" "$tmp/mem.out" "$tmp/out4.img" "$tmp/qemu.img"
  $NBDKIT -U - "$HEXZ_PLUGIN" file="$st" "$@" --run '
    nbdcopy "$uri" "$tmp/out.img" &&
    nbdcopy --connections=4 --requests=16 "nbd+unix:///disk?socket=$unixsocket" "$tmp/out4.img" &&
    nbdcopy "nbd+unix:///memory?socket=$unixsocket" "$tmp/mem.out" &&
    env -u LD_PRELOAD qemu-img convert -f raw -O raw "$uri" "$tmp/qemu.img"
  ' || fail "$st $*: copying failed"
  cmp "$tmp/disk.img" "$tmp/out.img" || fail "$st $*: nbdcopy disk differs"
  cmp "$tmp/disk.img" "$tmp/out4.img" || fail "$st $*: nbdcopy --connections=4 differs"
  cmp "$tmp/mem.img" "$tmp/mem.out" || fail "$st $*: memory export differs"
  # qemu rounds the size of a raw image up to whole 512-byte sectors.
  cmp -n "$(stat -c %s "$tmp/disk.img")" "$tmp/disk.img" "$tmp/qemu.img" || fail "$st $*: qemu-img convert differs"
}

for combo in lz4:4K zstd:64K none:1M zstd:4K lz4:1M none:64K; do
  method=${combo%:*} bs=${combo#*:}
  st="$tmp/$method-$bs.st"
  hexz-pack -c "$method" -b "$bs" --memory "$tmp/mem.img" "$tmp/disk.img" "$st"
  copy_and_compare "$st"
done
# Without the cache, and with a cache far smaller than the data.
copy_and_compare "$tmp/zstd-64K.st" cache-size=0
copy_and_compare "$tmp/lz4-4K.st" cache-size=100K
