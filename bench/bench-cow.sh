#!/usr/bin/env bash
# Benchmark of the hexz-cow filter against nbdkit's own cow filter with
# cow-block-size=4096, both over the same nbdkit hexz plugin and snapshot, in
# the same run:
#   randwrite   random 4 KiB writes (fio --ioengine=nbd, iodepth 16) over a
#               window of the disk, starting from an empty overlay
#   read-after  random 4 KiB reads of that window right after (mostly blocks
#               the writes put into the overlay)
#   randrw      random 4 KiB 50/50 reads and writes
# hexz-cow runs with a persistent overlay= (its normal use); cow keeps its
# temporary overlay in the same directory (TMPDIR).  Runs are interleaved
# (run 1 of each, then run 2...).  Prints medians of RUNS runs in IOPS and the
# ratio hexz-cow / cow (target: at least 1.0).  Not run by make check.
#
# Environment: BUILD (build tree), BENCH_DIR, RUNS (default 3), FIO_RUNTIME
# (seconds per fio job, default 8), COW_DISK_MB (default 512),
# COW_WINDOW_MB (default 128).
source "$(dirname "$0")/bench-lib.sh"
for c in nbdkit fio python3 hexz-pack; do
  command -v $c >/dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done
for f in "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"; do
  [ -e "$f" ] || { echo "$0: $f not found: set BUILD to the build tree" >&2; exit 1; }
done
runtime=${FIO_RUNTIME:-8}
disk_mb=${COW_DISK_MB:-512}
window=${COW_WINDOW_MB:-128}
dir=$BENCH_DIR/cow
mkdir -p "$dir"

# A snapshot of real, compressible data (files from /usr), packed once.
st=$dir/base-$disk_mb.st
if [ ! -s "$st" ]; then
  echo "== making a $disk_mb MiB base snapshot" >&2
  (tar -C / -cf - usr/lib usr/share 2>/dev/null || true) | head -c $((disk_mb * 1048576)) > "$dir/base.img"
  truncate -s "${disk_mb}M" "$dir/base.img"
  hexz-pack -f "$dir/base.img" "$st.tmp" > /dev/null
  mv "$st.tmp" "$st"
  rm -f "$dir/base.img"
fi

pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# start hexz-cow|cow: a fresh nbdkit on $dir/sock with an empty overlay.
start() {
  rm -f "$dir/sock" "$dir/pid" "$dir"/run.overlay "$dir"/run.overlay.meta "$dir"/run.overlay.base
  local filter
  case $1 in
    hexz-cow) filter=(--filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$st" overlay="$dir/run.overlay") ;;
    cow) filter=(--filter=cow "$HEXZ_PLUGIN" file="$st" cow-block-size=4096) ;;
  esac
  TMPDIR=$dir nbdkit -f -U "$dir/sock" -P "$dir/pid" "${filter[@]}" &
  for _ in $(seq 100); do
    [ -S "$dir/sock" ] && [ -s "$dir/pid" ] && break
    sleep 0.1
  done
  pid=$(cat "$dir/pid")
}
stop() {
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  pid=
}

# fio_iops RW: IOPS (reads + writes) of one fio job (fio's nbd engine prints
# a line before the JSON).
fio_iops() {
  fio --name=bench --ioengine=nbd --uri="nbd+unix:///?socket=$dir/sock" --rw="$1" --bs=4k --iodepth=16 \
    --size="${window}m" --time_based --runtime="$runtime" --randrepeat=0 --output-format=json |
    python3 -c 'import json, sys; s = sys.stdin.read(); j = json.loads(s[s.index("{"):])["jobs"][0]
print(round(j["read"]["iops"] + j["write"]["iops"]))'
}

declare -A res
for run in $(seq "$RUNS"); do
  for f in hexz-cow cow; do
    start $f
    # Each fio job is a connection of its own; hexz-cow makes the data
    # durable when one closes (cow does not), so let that settle first.
    res[$f.randwrite]+=" $(fio_iops randwrite)"
    sleep 2
    res[$f.read-after]+=" $(fio_iops randread)"
    sleep 2
    res[$f.randrw]+=" $(fio_iops randrw)"
    stop
  done
  echo "== run $run done" >&2
done

printf '%-12s %12s %12s %8s\n' workload hexz-cow cow ratio
for w in randwrite read-after randrw; do
  a=$(median ${res[hexz-cow.$w]})
  b=$(median ${res[cow.$w]})
  printf '%-12s %12s %12s %8s\n' "$w" "$a" "$b" "$(ratio "$a" "$b")"
done
echo "(IOPS, medians of $RUNS runs of ${runtime}s, 4 KiB, iodepth 16, ${window} MiB window of a $disk_mb MiB snapshot)"
