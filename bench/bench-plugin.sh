#!/usr/bin/env bash
# Benchmark of the nbdkit hexz plugin against the reference tools, on a
# dense ext4 image of real files (about 1 GiB):
#   - sequential read of the whole disk: nbdcopy URI null:
#   - random 4 KiB reads: fio --ioengine=nbd --iodepth=16
# served by
#   hexz-0      nbdkit hexz cache-size=0 (every request decompresses)
#   hexz-cache  nbdkit hexz with a cache holding the whole disk (warmed with
#               NBD_CMD_CACHE)
#   qemu-qcow2  qemu-nbd on a qemu-img convert -c -O qcow2 zstd copy
#   file-raw    nbdkit file on the raw image (the ceiling)
# Prints medians of RUNS runs and the ratios the plugin's issue sets as
# targets.  Not run by make check.
#
# Usage: bench/bench-plugin.sh [BUILD_DIR]   (default: the current directory)
# Environment: BENCH_DIR (work files, kept between runs to save rebuilding
# the images), BENCH_SIZE_MB (image size, default 1024), RUNS (default 3),
# FIO_RUNTIME (seconds per fio run, default 8), HEXZ_BLOCK_SIZE (hexz-pack -b,
# default the format's default), HEXZ_METHOD (hexz-pack -c, default zstd).
set -euo pipefail
export PATH=/usr/bin:/usr/sbin:$PATH LC_ALL=C

build=$(cd "${1:-.}" && pwd)
plugin=$build/plugins/hexz/.libs/nbdkit-hexz-plugin.so
pack=$build/tools/hexz-pack
for f in "$plugin" "$pack"; do
  [ -e "$f" ] || { echo "$0: $f not found: pass the build directory" >&2; exit 1; }
done
for c in nbdkit qemu-nbd qemu-img nbdcopy nbdsh fio mkfs.ext4 python3; do
  command -v $c >/dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done

dir=${BENCH_DIR:-/var/tmp/hexz-bench-plugin}
size_mb=${BENCH_SIZE_MB:-1024}
runs=${RUNS:-3}
runtime=${FIO_RUNTIME:-8}
bs=${HEXZ_BLOCK_SIZE:-}
method=${HEXZ_METHOD:-zstd}
mkdir -p "$dir"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# --- Images ---------------------------------------------------------------
img=$dir/disk.img
if [ ! -s "$img" ]; then
  echo "== building a dense ext4 image of about $size_mb MiB from /usr" >&2
  rm -rf "$dir/tree"
  mkdir -p "$dir/tree"
  # Real files (binaries, libraries, text, compressed docs) up to ~85% of
  # the image; the truncated last file of the tar stream is harmless.
  budget=$((size_mb * 1024 * 1024 * 80 / 100))
  (tar -C / -cf - usr/bin usr/share usr/include usr/lib 2>/dev/null || true) |
    head -c $budget | (tar -C "$dir/tree" -xf - 2>/dev/null || true)
  truncate -s "${size_mb}M" "$img.tmp"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d "$dir/tree" "$img.tmp"
  mv "$img.tmp" "$img"
  rm -rf "$dir/tree"
fi
st=$dir/disk-${method}${bs:+-$bs}.st
if [ ! -s "$st" ] || [ "$st" -ot "$pack" ]; then
  echo "== hexz-pack -c $method ${bs:+-b $bs}" >&2
  "$pack" -c "$method" ${bs:+-b "$bs"} "$img" "$st"
fi
qcow=$dir/disk.qcow2
if [ ! -s "$qcow" ]; then
  echo "== qemu-img convert -c -O qcow2 -o compression_type=zstd" >&2
  qemu-img convert -c -O qcow2 -o compression_type=zstd "$img" "$qcow.tmp"
  mv "$qcow.tmp" "$qcow"
fi
disk_size=$(stat -c %s "$img")
used=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Block count/{t=$2} /^Free blocks/{f=$2} END{printf "%d", 100*(t-f)/t}')
echo "image: $(numfmt --to=iec $disk_size), ${used}% of ext4 blocks in use;" \
  "hexz $(numfmt --to=iec "$(stat -c %s "$st")") ($method${bs:+, $bs blocks}), qcow2 $(numfmt --to=iec "$(stat -c %s "$qcow")")"

# --- Servers ----------------------------------------------------------------
# start NAME CMD...: runs a server on $dir/NAME.sock in the foreground (in
# the background of this script) and waits until it accepts connections.
start() {
  local name=$1
  shift
  local sock=$dir/$name.sock
  rm -f "$sock"
  "$@" &
  pids+=($!)
  for _ in $(seq 100); do
    [ -S "$sock" ] && nbdinfo --size "nbd+unix:///?socket=$sock" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$0: $name did not start" >&2
  exit 1
}
stop_all() {
  cleanup
  pids=()
}
uri() { echo "nbd+unix:///?socket=$dir/$1.sock"; }

median() { sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# MB/s of nbdcopy URI null:, median of RUNS.
seq_read() {
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N)
    nbdcopy "$1" null:
    t1=$(date +%s.%N)
    echo "$disk_size $t0 $t1" | awk '{printf "%.1f\n", $1 / ($3 - $2) / 1048576}'
  done | median
}

# IOPS of fio random 4 KiB reads, median of RUNS.
rand_read() {
  for _ in $(seq "$runs"); do
    fio --name=rand4k --ioengine=nbd --uri="$1" --rw=randread --bs=4k --iodepth=16 \
      --runtime="$runtime" --time_based --randrepeat=0 --output-format=json --output="$dir/fio.json" >/dev/null
    python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"])' "$dir/fio.json"
  done | median
}

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

declare -A SEQ RAND
run_case() {  # run_case NAME
  echo "== $1" >&2
  SEQ[$1]=$(seq_read "$(uri "$1")")
  RAND[$1]=$(rand_read "$(uri "$1")")
  printf '%-12s sequential %8s MB/s   random 4K %8s IOPS\n' "$1" "${SEQ[$1]}" "${RAND[$1]}"
}

cache=$(( (disk_size * 5 / 4) >> 20 ))M

start hexz-0 nbdkit -f -U "$dir/hexz-0.sock" "$plugin" file="$st" cache-size=0
run_case hexz-0
stop_all

start hexz-cache nbdkit -f -U "$dir/hexz-cache.sock" "$plugin" file="$st" cache-size="$cache"
t0=$(date +%s.%N)
warm_cache hexz-cache
echo "hexz-cache   warmed $cache cache with NBD_CMD_CACHE in $(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2-$1}') s"
run_case hexz-cache
stop_all

start qemu-qcow2 qemu-nbd -r -t -f qcow2 --shared=16 -k "$dir/qemu-qcow2.sock" "$qcow"
run_case qemu-qcow2
stop_all

start file-raw nbdkit -f -U "$dir/file-raw.sock" file file="$img"
run_case file-raw
stop_all

ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
echo
echo "sequential:        hexz-0 / qemu-qcow2     = $(ratio "${SEQ[hexz-0]}" "${SEQ[qemu-qcow2]}")x   (target >= 2)"
echo "random 4K uncached: hexz-0 / qemu-qcow2    = $(ratio "${RAND[hexz-0]}" "${RAND[qemu-qcow2]}")x   (target >= 2)"
echo "random 4K cached:   hexz-cache / file-raw  = $(ratio "${RAND[hexz-cache]}" "${RAND[file-raw]}")x   (target >= 0.8)"
echo "sequential:        hexz-cache / file-raw   = $(ratio "${SEQ[hexz-cache]}" "${SEQ[file-raw]}")x"
