#!/usr/bin/env bash
# Benchmark of hexz-diff -b between a snapshot and its thin child: the index
# path (default) against the reading path (--no-index, every block read and
# compared through nbdkit) and against qemu-img compare of the same pair as
# qcow2 (the child a qcow2 overlay whose backing file is the base).  A dense
# ~2 GiB ext4 image of this machine's files; the child changes one 4 KiB
# block in N of its 64 KiB blocks for each N in NCHANGED (default
# "3947 100"), written through the hexz-cow filter and committed with
# hexz-commit --thin.  Target: the index path at least 50x faster than the
# reading path.  Not run by make check.
#
# Usage: BUILD=/path/to/build bench/bench-indexdiff.sh
# Environment: BENCH_DIR (work files, kept between runs), RUNS (default 3),
# NCHANGED, DENSE_MB (default 2048).
source "$(dirname "$0")/bench-lib.sh"
for c in qemu-img nbdkit nbdsh nbdcopy bc; do
  command -v $c > /dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done
# A few 4 KiB writes or many: the index path reads only the blocks whose
# checksums differ (on both sides, to find the 4 KiB blocks that changed),
# so its gain is bounded by the share of changed blocks.
changes=${NCHANGED:-"3947 100"}
d=$BENCH_DIR/indexdiff
mkdir -p "$d"
cd "$d"

DENSE_MB=${DENSE_MB:-2048} dense_image disk.img
if [ ! -f base.st ] || [ ! -f base.qcow2 ]; then
  hexz-pack disk.img base.st > /dev/null
  qemu-img convert -O qcow2 disk.img base.qcow2
fi
nblocks=$(($(stat -c %s disk.img) / 65536))
for n in $changes; do
  [ ! -f thin-$n.st ] || [ ! -f mod-$n.qcow2 ] || continue
  echo "building thin-$n.st and mod-$n.qcow2 (once)..."
  rm -f vm.overlay vm.overlay.meta vm.overlay.base
  cat > write.py <<PY
import os, random
random.seed(2)
for b in sorted(random.sample(range($nblocks), $n)):
    h.pwrite(os.urandom(4096), b * 65536 + random.randrange(16) * 4096)
h.flush()
PY
  nbdkit -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=vm.overlay \
    --run 'nbdsh -u "$uri" -c "exec(open(\"write.py\").read())"'
  hexz-commit --thin --base base.st --overlay vm.overlay --output thin-$n.st > /dev/null
  nbdkit -U - -r "$HEXZ_PLUGIN" file=thin-$n.st --run 'nbdcopy "$uri" mod.raw'
  qemu-img convert -O qcow2 -B base.qcow2 -F qcow2 mod.raw mod-$n.qcow2
  rm -f mod.raw
done

echo "base vs thin child, $(($(stat -c %s disk.img) >> 20)) MiB of $nblocks 64 KiB blocks, $RUNS interleaved runs"
for n in $changes; do
  # Interleaved runs: one of each per round.
  ti=() tr=() tq=()
  for _ in $(seq "$RUNS"); do
    ti+=("$(time_cmd hexz-diff -f -b base.st thin-$n.st idx.ov)")
    tr+=("$(time_cmd hexz-diff -f --no-index -b base.st thin-$n.st read.ov)")
    tq+=("$(time_cmd qemu-img compare -q base.qcow2 mod-$n.qcow2)")
  done
  cmp -s idx.ov.meta read.ov.meta || { echo "$0: the index and reading paths disagree" >&2; exit 1; }
  mi=$(median "${ti[@]}") mr=$(median "${tr[@]}") mq=$(median "${tq[@]}")
  echo "-- $n of $nblocks blocks changed ($(($(stat -c %s idx.ov.meta) / 8)) 4 KiB blocks)"
  printf 'hexz-diff -b (index path)        %8.3f s\n' "$mi"
  printf 'hexz-diff -b --no-index (reads)  %8.3f s   index path %sx faster\n' "$mr" "$(ratio "$mr" "$mi")"
  printf 'qemu-img compare (qcow2 pair)    %8.3f s   (stops at the first difference: it only says whether they differ)\n' "$mq"
done
