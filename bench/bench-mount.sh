#!/usr/bin/env bash
# Benchmark of hexz-mount against nbdfuse on the same nbdkit hexz plugin:
#   - sequential read of the whole MOUNTPOINT/disk (dd bs=1M)
#   - random 4 KiB reads (fio psync, 4 jobs, POSIX_FADV_RANDOM)
# on a dense ext4 image of real files.  Each run mounts afresh (empty page
# cache and plugin cache for both), hexz-mount then nbdfuse.  Prints medians
# of RUNS runs and the ratio hexz-mount / nbdfuse (target: >= 1).  Not run by
# make check.
#
# Usage: BUILD=BUILD_DIR bench/bench-mount.sh   (see bench/README.md)
# Environment: BENCH_SIZE_MB (size of the image, default 512), RUNS
# (default 5), RAND_MB (MiB read at random per run, default 48); work files
# are kept in $BENCH_DIR/mount between runs.
: "${RUNS:=5}"
source "$(dirname "$0")/bench-lib.sh"
export LC_ALL=C
plugin=$HEXZ_PLUGIN
pack=$BUILD/tools/pack/hexz-pack
mount=$BUILD/tools/mount/hexz-mount
unmount=$BUILD/tools/mount/hexz-unmount
for f in "$plugin" "$pack" "$mount" "$unmount"; do
  [ -e "$f" ] || { echo "$0: $f not found: build first (BUILD=$BUILD)" >&2; exit 1; }
done
for c in nbdkit nbdfuse fusermount3 fio mkfs.ext4 python3; do
  command -v $c >/dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done

dir=$BENCH_DIR/mount
size_mb=${BENCH_SIZE_MB:-512}
runs=$RUNS
rand_mb=${RAND_MB:-48}
mkdir -p "$dir/mnt"
mnt=$dir/mnt

nbdkit_pid= nbdfuse_pid=
cleanup() {
  mountpoint -q "$mnt" && { fusermount3 -u "$mnt" 2>/dev/null || "$unmount" "$mnt" || true; }
  [ -n "$nbdfuse_pid" ] && kill "$nbdfuse_pid" 2>/dev/null
  [ -n "$nbdkit_pid" ] && kill "$nbdkit_pid" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT

# --- Image ------------------------------------------------------------------
img=$dir/disk-${size_mb}M.img
DENSE_MB=$size_mb dense_image "$img"
st=$dir/disk-${size_mb}M.st
if [ ! -s "$st" ] || [ "$st" -ot "$pack" ]; then
  echo "== hexz-pack" >&2
  "$pack" -f "$img" "$st"
fi
cat "$st" > /dev/null   # the .st in the page cache for both
disk_size=$(stat -c %s "$img")
echo "image: $(numfmt --to=iec "$disk_size"), hexz $(numfmt --to=iec "$(stat -c %s "$st")")"

# --- Mounts -----------------------------------------------------------------
# Each leaves the disk at $file.
mount_hexz() {
  "$mount" --daemon "$st" "$mnt"
  file=$mnt/disk
}
unmount_hexz() { "$unmount" "$mnt"; }

mount_nbdfuse() {
  local sock=$dir/nbdkit.sock
  rm -f "$sock" "$dir/nbdkit.pid"
  nbdkit -f -r -U "$sock" -P "$dir/nbdkit.pid" "$plugin" file="$st" &
  nbdkit_pid=$!
  while [ ! -s "$dir/nbdkit.pid" ]; do sleep 0.05; done
  nbdfuse -r "$mnt/disk" --unix "$sock" &
  nbdfuse_pid=$!
  while [ ! -e "$mnt/disk" ]; do sleep 0.05; done
  file=$mnt/disk
}
unmount_nbdfuse() {
  fusermount3 -u "$mnt"
  wait "$nbdfuse_pid" || true
  nbdfuse_pid=
  kill "$nbdkit_pid"
  wait "$nbdkit_pid" || true
  nbdkit_pid=
}

now() { date +%s.%N; }
# MB/s of reading BYTES in the time since START.
rate() { python3 -c "import sys; print('%.1f' % ($1 / 1e6 / ($(now) - $2)))"; }

seq_read() {
  local t0
  t0=$(now)
  dd if="$file" of=/dev/null bs=1M status=none
  rate "$disk_size" "$t0"
}

rand_read() {
  local t0 per_job=$((rand_mb / 4))
  t0=$(now)
  fio --name=rand --filename="$file" --readonly --rw=randread --bs=4k --ioengine=psync \
    --numjobs=4 --io_size="${per_job}m" --size="$disk_size" --fadvise_hint=1 \
    --randrepeat=0 --group_reporting --output=/dev/null
  rate $((per_job * 4 * 1024 * 1024)) "$t0"
}

declare -A res
for tool in hexz nbdfuse; do res[$tool-seq]=""; res[$tool-rand]=""; done
for ((r = 1; r <= runs; r++)); do
  for tool in hexz nbdfuse; do
    mount_$tool; s=$(seq_read); unmount_$tool
    mount_$tool; x=$(rand_read); unmount_$tool
    res[$tool-seq]+=" $s"
    res[$tool-rand]+=" $x"
    echo "run $r $tool: sequential $s MB/s, random 4K $x MB/s" >&2
  done
done

printf '%-22s %12s %12s %8s\n' test hexz-mount nbdfuse ratio
for t in seq rand; do
  h=$(median ${res[hexz-$t]})
  n=$(median ${res[nbdfuse-$t]})
  name=$([ $t = seq ] && echo "sequential read MB/s" || echo "random 4K read MB/s")
  printf '%-22s %12s %12s %8s\n' "$name" "$h" "$n" "$(ratio "$h" "$n")"
done
