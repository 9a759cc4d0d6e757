#!/usr/bin/env bash
# Benchmark of hexz-diff -b between a snapshot and its thin child: the index
# path (default) against the reading path (--no-index, every block read and
# compared through nbdkit) and against qemu-img compare of the same pair as
# qcow2 (the child a qcow2 overlay whose backing file is the base).  A dense
# ~2 GiB ext4 image of this machine's files; the child changes one 4 KiB
# block in NCHANGED (default 3947) of its 64 KiB blocks, written through the
# hexz-cow filter and committed with hexz-commit --thin.  Target: the index
# path at least 50x faster than the reading path.  Not run by make check.
#
# Usage: BUILD=/path/to/build bench/bench-indexdiff.sh
# Environment: BENCH_DIR (work files, kept between runs), RUNS (default 3),
# NCHANGED, DENSE_MB (default 2048).
source "$(dirname "$0")/bench-lib.sh"
for c in qemu-img nbdkit nbdsh nbdcopy bc; do
  command -v $c > /dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done
nchanged=${NCHANGED:-3947}
d=$BENCH_DIR/indexdiff
mkdir -p "$d"
cd "$d"

DENSE_MB=${DENSE_MB:-2048} dense_image disk.img
if [ ! -f thin.st ] || [ ! -f mod.qcow2 ]; then
  echo "building base.st, thin.st and the qcow2 pair (once)..."
  rm -f base.st thin.st vm.overlay vm.overlay.meta vm.overlay.base
  hexz-pack disk.img base.st > /dev/null
  cat > write.py <<PY
import os, random
random.seed(2)
nblocks = h.get_size() // 65536
for b in sorted(random.sample(range(nblocks), $nchanged)):
    h.pwrite(os.urandom(4096), b * 65536 + random.randrange(16) * 4096)
h.flush()
PY
  nbdkit -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=vm.overlay \
    --run 'nbdsh -u "$uri" -c "exec(open(\"write.py\").read())"'
  hexz-commit --thin --base base.st --overlay vm.overlay --output thin.st > /dev/null
  nbdkit -U - -r "$HEXZ_PLUGIN" file=thin.st --run 'nbdcopy "$uri" mod.raw'
  qemu-img convert -O qcow2 disk.img base.qcow2
  qemu-img convert -O qcow2 -B base.qcow2 -F qcow2 mod.raw mod.qcow2
  rm -f mod.raw
fi

# Interleaved runs: one of each per round.
ti=() tr=() tq=()
for _ in $(seq "$RUNS"); do
  ti+=("$(time_cmd hexz-diff -f -b base.st thin.st idx.ov)")
  tr+=("$(time_cmd hexz-diff -f --no-index -b base.st thin.st read.ov)")
  tq+=("$(time_cmd qemu-img compare -q base.qcow2 mod.qcow2)")
done
cmp -s idx.ov.meta read.ov.meta || { echo "$0: the index and reading paths disagree" >&2; exit 1; }
mi=$(median "${ti[@]}") mr=$(median "${tr[@]}") mq=$(median "${tq[@]}")
changed=$(($(stat -c %s idx.ov.meta) / 8))
echo "base vs thin child, $(($(stat -c %s disk.img) >> 20)) MiB, $nchanged of $(($(stat -c %s disk.img) / 65536)) 64 KiB blocks changed ($changed 4 KiB blocks)"
printf 'hexz-diff -b (index path)        %8.3f s\n' "$mi"
printf 'hexz-diff -b --no-index (reads)  %8.3f s   index path %sx faster\n' "$mr" "$(ratio "$mr" "$mi")"
printf 'qemu-img compare (qcow2 pair)    %8.3f s   (stops at the first difference: it only says whether they differ)\n' "$mq"
