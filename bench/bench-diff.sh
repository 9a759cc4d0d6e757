#!/usr/bin/env bash
# Benchmark of hexz-diff --files: a 2 GiB GPT disk whose one partition holds
# an ext4 root-like filesystem (/etc, /usr/bin, /usr/share... of this
# machine, ~1.6 GiB, some 100k files), and an
# overlay of ~50k modified 4 KiB blocks written through the hexz-cow filter.
# Prints the median time of hexz-diff --files (target: under 2 seconds) and
# of the reference, debugfs icheck + ncheck of the same blocks on the raw
# filesystem image (which only maps blocks to names, one view, no metadata
# areas), and their ratio.  Then what the sandbox costs (target: at most
# 5% of hexz-diff's time): both views mapped in confined workers, as
# hexz-diff maps them, against the same maps made in-process
# (bench/map-cost.cpp, interleaved).  Not run by make check.
#
# Usage: BUILD=/path/to/build bench/bench-diff.sh
# Environment: BENCH_DIR (work files, kept between runs), RUNS (default 3),
# NBLOCKS (modified blocks, default 50000).
source "$(dirname "$0")/bench-lib.sh"
for c in sfdisk mkfs.ext4 debugfs nbdkit nbdsh bc; do
  command -v $c > /dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done
for f in "$BUILD/tools/diff/hexz-diff" "$BUILD/tools/pack/hexz-pack" "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"; do
  [ -e "$f" ] || { echo "$0: $f not found: set BUILD to the build directory" >&2; exit 1; }
done
nblocks=${NBLOCKS:-50000}
d=$BENCH_DIR/diff
mkdir -p "$d"
cd "$d"

# The disk: GPT, partition 1 from 1 MiB to the end, ext4 made by mkfs.ext4 -d.
start=2048 sectors=$((2 * 1024 * 1024 * 2 - 2048 - 34))
if [ ! -f base.st ]; then
  echo "building the 2 GiB disk (once)..."
  # A root-like tree: configuration, programs, headers and /usr/share's
  # many small files, ~1.6 GiB.
  rm -rf src root.img && mkdir src
  budget=$((1600 * 1024))
  for dir in etc usr/bin usr/sbin usr/include usr/share usr/lib/python3 usr/lib/x86_64-linux-gnu; do
    left=$((budget - $(du -sk src | cut -f1)))
    [ $left -gt 0 ] || break
    tar -C / -cf - "$dir" 2>/dev/null | head -c $((left * 1024)) | tar -C src -xf - 2>/dev/null || true
  done
  truncate -s $((sectors * 512)) root.img
  mkfs.ext4 -q -F -d src root.img
  rm -rf src
  rm -f disk.raw && truncate -s 2G disk.raw
  printf 'label: gpt\nstart=%d, size=%d, type=linux\n' $start $sectors | sfdisk -q disk.raw
  dd if=root.img of=disk.raw bs=1M seek=1 conv=sparse,notrunc status=none
  hexz-pack -f disk.raw base.st > /dev/null
  rm -f vm.overlay vm.overlay.meta vm.overlay.base
fi

# ~NBLOCKS modified blocks spread over the used part of the filesystem
# (file data, directories, inode tables, bitmaps alike).
if [ ! -f vm.overlay.meta ]; then
  echo "writing $nblocks blocks through the hexz-cow filter (once)..."
  used=$(debugfs root.img -R stats 2>/dev/null | awk -F: '/^Block count/ { n = $2 } /^Free blocks/ { f = $2 } END { print n - f }')
  cat > write.py <<PY
import os, random
random.seed(1)
first = $start * 512 // 4096
blocks = sorted(random.sample(range(first, first + $used), $nblocks))
buf = os.urandom(4096)
for b in blocks:
    h.pwrite(buf, b * 4096)
h.flush()
PY
  nbdkit -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=vm.overlay \
    --run 'nbdsh -u "$uri" -c "exec(open(\"write.py\").read())"' 2> /dev/null
fi
n=$(( $(stat -c %s vm.overlay.meta) / 8 ))
hexz-diff vm.overlay --files > files.out 2> /dev/null
echo "disk: 2 GiB GPT, ext4 with $(debugfs root.img -R stats 2>/dev/null | awk -F: '/^Inode count/ { i = $2 } /^Free inodes/ { f = $2 } END { print i - f }') inodes in use; overlay: $n modified blocks"
sed -n '/^Summary/,/^$/p' files.out

t_hexz=$(median_time hexz-diff vm.overlay --files)
# CPU seconds (user + system) of hexz-diff and its two nbdkit, which a busy
# machine does not inflate the way it does wall-clock time.
cpu=$(/usr/bin/time -f '%U %S' hexz-diff vm.overlay --files 2>&1 > /dev/null | awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { print $1 + $2 }' | tail -1)

# Reference: block -> inode -> name with debugfs on the raw filesystem.
od -An -t u8 -w8 -v vm.overlay.meta | awk -v s=$((start * 512 / 4096)) '{ print $1 - s }' > fsblocks.txt
# debugfs takes its commands from a file (-f), 500 arguments a line: one
# command line with all the blocks exceeds the kernel's argument limit.
ref() {
  xargs -n 500 echo icheck < fsblocks.txt > icheck.cmd
  debugfs -f icheck.cmd root.img 2>/dev/null |
    awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { print $2 }' | sort -un > inodes.txt
  xargs -n 500 echo ncheck < inodes.txt > ncheck.cmd
  debugfs -f ncheck.cmd root.img 2>/dev/null | awk '$1 ~ /^[0-9]+$/' > names.txt
}
t_ref=$(median_time ref)

# The sandbox's cost, on the two views hexz-diff serves (the filter
# read-only, as hexz-diff runs it).
trap stop_servers EXIT
start_server "$d/before.sock" nbdkit -f -U "$d/before.sock" "$HEXZ_PLUGIN" file=base.st
start_server "$d/after.sock" nbdkit -f -r -U "$d/after.sock" --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" \
  file=base.st overlay=vm.overlay
read -r t_inproc t_boxed < <("$BUILD/bench/map-cost" "nbd+unix:///?socket=$d/before.sock" \
  "nbd+unix:///?socket=$d/after.sock" "$((RUNS * 2 + 1))")
stop_servers
echo "debugfs reference: $(wc -l < inodes.txt) inodes, $(wc -l < names.txt) names"

echo "hexz-diff --files:        ${t_hexz} s   (target: under 2 s: $(echo "$t_hexz < 2" | bc -l | sed 's/1/met/; s/0/MISSED/'))"
echo "  (CPU: ${cpu} s for hexz-diff and both nbdkit; load average: $(cut -d' ' -f1 /proc/loadavg))"
echo "debugfs icheck + ncheck:  ${t_ref} s"
echo "ratio hexz-diff / debugfs: $(ratio "$t_hexz" "$t_ref")"
echo "mapping both views: in-process ${t_inproc} s, sandboxed ${t_boxed} s (medians of $((RUNS * 2 + 1)), interleaved)"
echo "sandbox cost: $(echo "$t_boxed - $t_inproc" | bc -l | sed 's/^\./0./; s/^-\./-0./') s =" \
  "$(echo "scale=1; 100 * ($t_boxed - $t_inproc) / $t_hexz" | bc -l)% of hexz-diff --files (target: at most 5%)"
