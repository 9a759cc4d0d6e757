#!/usr/bin/env bash
# Benchmark of the nbdkit hexz plugin against the reference tools, on a
# dense ext4 image of real files (bench-lib.sh, DENSE_MB):
#   - sequential read of the whole disk: nbdcopy URI null:
#   - random 4 KiB reads: fio --ioengine=nbd --iodepth=16
# served by
#   hexz-0      nbdkit hexz cache-size=0 (every request decompresses), on a
#               snapshot packed like the qcow2 copy: zstd level 3, 64K blocks
#   hexz16-0    the same with 16K blocks (hexz-pack -b 16K)
#   hexz-cache  nbdkit hexz (64K blocks) with a cache holding the whole disk
#               (warmed with NBD_CMD_CACHE)
#   qemu-qcow2  qemu-nbd on a qemu-img convert -c -O qcow2 zstd copy
#   file-raw    nbdkit file on the raw image (the ceiling)
# The runs of the servers are interleaved (run 1 of each, run 2 of each...)
# so that load from elsewhere on the machine spreads over all of them.
# Prints medians of RUNS runs and the ratios the plugin's issue sets as
# targets.  Not run by make check.
#
# Usage: BUILD=BUILD_DIR bench/bench-plugin.sh   (see bench/README.md;
# FIO_RUNTIME sets the seconds per fio run, default 8).  The snapshots and
# the qcow2 copy are kept in $BENCH_DIR/plugin between runs.
source "$(dirname "$0")/bench-lib.sh"
for c in nbdkit qemu-nbd qemu-img nbdcopy nbdsh nbdinfo fio python3; do
  command -v $c >/dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done
pack=$BUILD/tools/pack/hexz-pack
[ -e "$HEXZ_PLUGIN" ] && [ -e "$pack" ] || { echo "$0: build first (BUILD=$BUILD)" >&2; exit 1; }
dir=$BENCH_DIR/plugin
mkdir -p "$dir"

trap stop_servers EXIT

# --- Images -----------------------------------------------------------------
img=$BENCH_DIR/dense.img
dense_image "$img"
# pack_st BLOCK_SIZE: the hexz snapshot (zstd, the default level).
pack_st() {
  local st=$dir/disk-$1.st
  if [ ! -s "$st" ] || [ "$st" -ot "$img" ] || [ "$st" -ot "$pack" ]; then
    echo "== hexz-pack -b $1" >&2
    "$pack" -f -c zstd -b "$1" "$img" "$st"
  fi
  echo "$st"
}
st=$(pack_st 64K)
st16=$(pack_st 16K)
qcow=$dir/disk.qcow2
if [ ! -s "$qcow" ] || [ "$qcow" -ot "$img" ]; then
  echo "== qemu-img convert -c -O qcow2 -o compression_type=zstd" >&2
  qemu-img convert -c -O qcow2 -o compression_type=zstd "$img" "$qcow.tmp"
  mv "$qcow.tmp" "$qcow"
fi
disk_size=$(stat -c %s "$img")
used=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Block count/{t=$2} /^Free blocks/{f=$2} END{printf "%d", 100*(t-f)/t}')
echo "image: $((disk_size >> 20)) MiB, ${used}% of ext4 blocks in use; hexz $(($(stat -c %s "$st") >> 20)) MiB" \
  "(64K blocks), $(($(stat -c %s "$st16") >> 20)) MiB (16K); qcow2 $(($(stat -c %s "$qcow") >> 20)) MiB;" \
  "$(nproc) cores, $RUNS runs each"

# --- Servers ----------------------------------------------------------------
# start NAME CMD...: CMD serves on $dir/NAME.sock.  Idle servers cost
# nothing, so all of them run for the whole benchmark.
start() {
  local name=$1
  shift
  start_server "$dir/$name.sock" "$@"
}
uri() { echo "nbd+unix:///?socket=$dir/$1.sock"; }

# Loads the whole disk into the plugin's cache with NBD_CMD_CACHE.
warm_cache() {
  SOCK=$dir/$1.sock nbdsh -c '
import os
h.connect_unix(os.environ["SOCK"])
size, step = h.get_size(), 32 << 20
for off in range(0, size, step):
    h.aio_cache(min(step, size - off), off)
    while h.aio_in_flight() >= 8:
        h.poll(-1)
while h.aio_in_flight() > 0:
    h.poll(-1)
'
}

cache=$(( (disk_size * 5 / 4) >> 20 ))M
names="hexz-0 hexz16-0 hexz-cache qemu-qcow2 file-raw"
start hexz-0 nbdkit -f -U "$dir/hexz-0.sock" "$HEXZ_PLUGIN" file="$st" cache-size=0
start hexz16-0 nbdkit -f -U "$dir/hexz16-0.sock" "$HEXZ_PLUGIN" file="$st16" cache-size=0
start hexz-cache nbdkit -f -U "$dir/hexz-cache.sock" "$HEXZ_PLUGIN" file="$st" cache-size="$cache"
start qemu-qcow2 qemu-nbd -r -t -f qcow2 --shared=16 -k "$dir/qemu-qcow2.sock" "$qcow"
start file-raw nbdkit -f -U "$dir/file-raw.sock" file file="$img"
t0=$(date +%s.%N)
warm_cache hexz-cache
echo "hexz-cache: warmed a $cache cache with NBD_CMD_CACHE in $(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2-$1}') s"


rm -f "$dir"/*.seq "$dir"/*.rand
for r in $(seq "$RUNS"); do
  for n in $names; do
    echo "== run $r: $n" >&2
    seq_read "$(uri $n)" "$disk_size" >> "$dir/$n.seq"
    rand_read "$(uri $n)" >> "$dir/$n.rand"
  done
done

declare -A SEQ RAND
echo
for n in $names; do
  SEQ[$n]=$(median $(cat "$dir/$n.seq"))
  RAND[$n]=$(median $(cat "$dir/$n.rand"))
  printf '%-12s sequential %8s MB/s   random 4K %8s IOPS   (runs: %s / %s)\n' "$n" "${SEQ[$n]}" "${RAND[$n]}" \
    "$(paste -sd, "$dir/$n.seq")" "$(paste -sd, "$dir/$n.rand")"
done

echo
echo "sequential          hexz-0 / qemu-qcow2      = $(ratio "${SEQ[hexz-0]}" "${SEQ[qemu-qcow2]}")x  (target >= 2)"
echo "sequential          hexz16-0 / qemu-qcow2    = $(ratio "${SEQ[hexz16-0]}" "${SEQ[qemu-qcow2]}")x"
echo "random 4K uncached  hexz-0 / qemu-qcow2      = $(ratio "${RAND[hexz-0]}" "${RAND[qemu-qcow2]}")x  (target >= 2)"
echo "random 4K uncached  hexz16-0 / qemu-qcow2    = $(ratio "${RAND[hexz16-0]}" "${RAND[qemu-qcow2]}")x"
echo "random 4K cached    hexz-cache / file-raw    = $(ratio "${RAND[hexz-cache]}" "${RAND[file-raw]}")x  (target >= 0.8)"
echo "sequential cached   hexz-cache / file-raw    = $(ratio "${SEQ[hexz-cache]}" "${SEQ[file-raw]}")x"
