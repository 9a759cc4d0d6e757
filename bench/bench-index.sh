#!/usr/bin/env bash
# Benchmark of the paged index (format 2, docs/format.md 1.3): what a
# snapshot costs when its disk is huge and mostly empty, and that dense
# images serve no slower than with the flat index of format 1.
#
# Sparse (2 TiB disk, 64 MiB of real data in 64 chunks of 1 MiB at
# scattered offsets, made with truncate + dd):
#   - metadata overhead: .st file size minus stored block bytes, against
#     qcow2's (qemu-img convert -O qcow2: image end offset minus allocated
#     data clusters, from qemu-img check)
#   - hexz-info run time, and nbdkit hexz start-up (nbdkit --run true; the
#     null plugin's start-up alongside as the floor)
#   - plugin RSS after start-up against the same on a 1 GiB disk holding the
#     same chunks
#   - a 64 TiB nbdkit memory disk with the same chunks: pack time over NBD,
#     .st size, start-up
# Dense (the benchmark image of bench-plugin.sh, bench-lib.sh DENSE_MB):
#   - sequential (nbdcopy) and random 4 KiB (fio, iodepth 16) reads through
#     nbdkit hexz cache-size=0, this build (format 2) against OLD_BUILD (a
#     build of the commit before the paged index, format 1), each on a
#     snapshot packed by its own hexz-pack; runs interleaved.
#   - the same two servers' instructions (valgrind callgrind) for one fixed
#     sequence of reads, 256 MiB sequential in 256 KiB requests and 5,000
#     random 4 KiB reads: the wall-clock figures on a shared 2-core machine
#     spread by +-15%, instruction counts repeat to a few in a million.
# Prints medians of RUNS runs and the ratios issue 16 sets as targets.  Not
# run by make check.
#
# Usage: BUILD=BUILD_DIR OLD_BUILD=OLD_BUILD_DIR bench/bench-index.sh
# (FIO_RUNTIME: seconds per fio run, default 8; without OLD_BUILD the dense
# comparison is skipped).
source "$(dirname "$0")/bench-lib.sh"
for c in nbdkit qemu-img nbdcopy nbdinfo nbdsh fio python3 truncate valgrind; do
  command -v $c >/dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done
pack=$BUILD/tools/pack/hexz-pack
info=$BUILD/tools/info/hexz-info
[ -e "$HEXZ_PLUGIN" ] && [ -e "$pack" ] || { echo "$0: build first (BUILD=$BUILD)" >&2; exit 1; }
dir=$BENCH_DIR/index
mkdir -p "$dir"

trap stop_servers EXIT

# --- Sparse disks -------------------------------------------------------------
# 64 chunks of 1 MiB of real file contents (binaries and text from /usr).
data=$dir/chunks.bin
if [ ! -s "$data" ]; then
  find /usr/bin /usr/lib/x86_64-linux-gnu /usr/share/doc -type f 2>/dev/null | sort | xargs cat 2>/dev/null |
    head -c $((64 << 20)) > "$data" || true
fi
[ "$(stat -c %s "$data")" = $((64 << 20)) ] || { echo "$0: not 64 MiB of files under /usr" >&2; exit 1; }
# sparse_disk IMG SIZE: IMG of SIZE bytes holding the chunks at offsets
# spread over it (a fixed pseudo-random sequence, 4 KiB aligned).
offsets() {
  python3 -c '
import random, sys
size = int(sys.argv[1]); r = random.Random(16)
offs = sorted(r.randrange(0, size // 4096 - 256) * 4096 for _ in range(64))
print(" ".join(map(str, offs)))' "$1"
}
sparse_disk() {
  local img=$1 size=$2 k=0
  [ -f "$img" ] && [ "$(stat -c %s "$img")" = "$size" ] && return 0
  rm -f "$img"
  truncate -s "$size" "$img"
  for off in $(offsets "$size"); do
    dd if="$data" of="$img" bs=4096 skip=$((k * 256)) seek=$((off / 4096)) count=256 conv=notrunc status=none
    k=$((k + 1))
  done
}
sparse_disk "$dir/2t.img" $((2 << 40))
sparse_disk "$dir/1g.img" $((1 << 30))
for n in 2t 1g; do
  [ "$dir/$n.st" -nt "$dir/$n.img" ] && [ "$dir/$n.st" -nt "$pack" ] || "$pack" -f "$dir/$n.img" "$dir/$n.st"
done
[ "$dir/2t.qcow2" -nt "$dir/2t.img" ] || qemu-img convert -O qcow2 "$dir/2t.img" "$dir/2t.qcow2"

stored_blocks() { "$info" --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["streams"]["disk"]["stored_bytes"])'; }
st_size=$(stat -c %s "$dir/2t.st")
st_meta=$((st_size - $(stored_blocks "$dir/2t.st")))
read -r q_end q_alloc q_cluster < <(qemu-img check --output=json "$dir/2t.qcow2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["image-end-offset"], d["allocated-clusters"], 65536)')
q_size=$(stat -c %s "$dir/2t.qcow2")
q_meta=$((q_end - q_alloc * q_cluster))

# Start-up: nbdkit --run true (the whole life of a server that serves
# nothing), hexz-info.
nbdkit_ready() { nbdkit -U - "$HEXZ_PLUGIN" file="$1" --run true; }
null_ready() { nbdkit -U - null 2T --run true; }
# CPU seconds (user + system) of one run of CMD: on a loaded machine the
# wall-clock figures below include waiting for a core.
cpu_cmd() {
  /usr/bin/time -f "%U %S" -o "$dir/time.out" "$@" >/dev/null 2>&1
  awk '{print $1 + $2}' "$dir/time.out"
}
R=$((RUNS * 3))
t_info=(); t_ready=(); t_null=(); c_info=(); c_ready=()
for _ in $(seq "$R"); do
  t_info+=("$(time_cmd "$info" "$dir/2t.st")")
  t_ready+=("$(time_cmd nbdkit_ready "$dir/2t.st")")
  t_null+=("$(time_cmd null_ready)")
  c_info+=("$(cpu_cmd "$info" "$dir/2t.st")")
  c_ready+=("$(cpu_cmd nbdkit -U - "$HEXZ_PLUGIN" file="$dir/2t.st" --run true)")
done
ms() { echo "$1" | awk '{printf "%.1f", $1 * 1000}'; }

# RSS of a started server (kB), before any request.
rss_after_start() {
  local sock=$dir/rss.sock pid kb
  rm -f "$sock"
  nbdkit -f -U "$sock" "$HEXZ_PLUGIN" file="$1" &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  sleep 0.2
  kb=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$kb"
}
rss2t=(); rss1g=()
for _ in $(seq "$RUNS"); do
  rss2t+=("$(rss_after_start "$dir/2t.st")")
  rss1g+=("$(rss_after_start "$dir/1g.st")")
done

echo "== sparse 2 TiB disk, 64 MiB of data in 64 chunks"
echo "hexz: .st $st_size bytes, stored blocks $((st_size - st_meta)), metadata $st_meta bytes"
echo "qcow2: file $q_size bytes, image end $q_end, $q_alloc data clusters of $q_cluster, metadata $q_meta bytes"
echo "metadata            hexz / qcow2              = $(ratio "$st_meta" "$q_meta")x  (target <= 1)"
echo "hexz-info               $(ms "$(median "${t_info[@]}")") ms wall, $(ms "$(median "${c_info[@]}")") ms CPU  (target < 50 ms)"
echo "nbdkit hexz --run true  $(ms "$(median "${t_ready[@]}")") ms wall, $(ms "$(median "${c_ready[@]}")") ms CPU" \
  "(nbdkit null 2T --run true: $(ms "$(median "${t_null[@]}")") ms wall; target < 50 ms)"
r2=$(median "${rss2t[@]}")
r1=$(median "${rss1g[@]}")
echo "plugin RSS after start-up: 2 TiB $r2 kB, 1 GiB $r1 kB, difference $((${r2%.*} - ${r1%.*})) kB  (target < 16384 kB)"

# 64 TiB: nbdkit memory, written with the chunks and packed over NBD.
if [ ! -s "$dir/64t.st" ] || [ "$dir/64t.st" -ot "$pack" ]; then
  offs=$(offsets $((64 << 40)))
  cat > "$dir/write64.py" <<'PY'
import os
h.connect_uri(os.environ["uri"])
data = open(os.environ["DATA"], "rb").read()
for k, off in enumerate(map(int, os.environ["OFFS"].split())):
    h.pwrite(data[k << 20:(k + 1) << 20], off)
PY
  t0=$(date +%s.%N)
  DATA=$data OFFS=$offs nbdkit -U - memory 64T --run \
    'uri="$uri" nbdsh -c "exec(open(\"'"$dir"'/write64.py\").read())" && "'"$pack"'" -f "$uri" "'"$dir"'/64t.st"'
  t1=$(date +%s.%N)
  echo "64 TiB: nbdkit memory 64T written and packed over NBD in $(echo "$t1 - $t0" | bc -l | cut -c1-6) s" \
    "(nbdkit memory answers block status by walking its address space: most of that time)"
fi
t64=()
for _ in $(seq "$R"); do t64+=("$(time_cmd nbdkit_ready "$dir/64t.st")"); done
echo "64 TiB: .st $(stat -c %s "$dir/64t.st") bytes; nbdkit hexz --run true $(ms "$(median "${t64[@]}")") ms;" \
  "rss after start-up $(rss_after_start "$dir/64t.st") kB"

# --- Dense image: format 2 against format 1 ----------------------------------
if [ -z "${OLD_BUILD:-}" ]; then
  echo "(OLD_BUILD not set: dense comparison skipped)"
  exit 0
fi
old_plugin=$(ls "$OLD_BUILD"/plugins/hexz/.libs/nbdkit-hexz-plugin.so)
old_pack=$OLD_BUILD/tools/pack/hexz-pack
img=$BENCH_DIR/dense.img
dense_image "$img"
disk_size=$(stat -c %s "$img")
[ "$dir/dense-new.st" -nt "$img" ] && [ "$dir/dense-new.st" -nt "$pack" ] || "$pack" -f "$img" "$dir/dense-new.st"
[ "$dir/dense-old.st" -nt "$img" ] || "$old_pack" "$img" "$dir/dense-old.st"

start() {  # start NAME PLUGIN FILE
  start_server "$dir/$1.sock" nbdkit -f -U "$dir/$1.sock" "$2" file="$3" cache-size=0
}
uri() { echo "nbd+unix:///?socket=$dir/$1.sock"; }
start new "$HEXZ_PLUGIN" "$dir/dense-new.st"
start old "$old_plugin" "$dir/dense-old.st"
rm -f "$dir"/*.seq "$dir"/*.rand
for r in $(seq "$RUNS"); do
  for n in new old; do
    echo "== run $r: $n" >&2
    seq_read "$(uri $n)" "$disk_size" >> "$dir/$n.seq"
    rand_read "$(uri $n)" >> "$dir/$n.rand"
  done
done
echo
echo "== dense image: $((disk_size >> 20)) MiB; format 2 .st $(stat -c %s "$dir/dense-new.st") bytes," \
  "format 1 .st $(stat -c %s "$dir/dense-old.st") bytes"
declare -A SEQ RAND
for n in new old; do
  SEQ[$n]=$(median $(cat "$dir/$n.seq"))
  RAND[$n]=$(median $(cat "$dir/$n.rand"))
  printf '%-4s sequential %8s MB/s   random 4K %8s IOPS   (runs: %s / %s)\n' "$n" "${SEQ[$n]}" "${RAND[$n]}" \
    "$(paste -sd, "$dir/$n.seq")" "$(paste -sd, "$dir/$n.rand")"
done
echo "sequential   format 2 / format 1 = $(ratio "${SEQ[new]}" "${SEQ[old]}")x  (target >= 1)"
echo "random 4K    format 2 / format 1 = $(ratio "${RAND[new]}" "${RAND[old]}")x  (target >= 1)"

# Instructions of each server for the same reads, under callgrind.  nbdkit
# --run forks: the server is the process with the larger count (it carries
# the start-up counted before the fork).  A run without reads gives each
# build's start-up (loading the plugin and its libraries, opening the
# snapshot); a run that makes the reads twice gives, less the run that
# makes them once, what they cost with everything loaded: the throughput
# figure.  The first pass (once, less the start-up) includes format 2's
# first decoding of each index page it touches, the work format 1 does at
# open.
cat > "$dir/reads.py" <<'PY'
import os, random
size = h.get_size()
mode, passes = os.environ["MODE"], int(os.environ["PASSES"])
for _ in range(passes):
    if mode == "seq":
        for off in range(0, min(size, 256 << 20), 256 << 10):
            h.pread(min(256 << 10, size - off), off)
    elif mode == "rand":
        rng = random.Random(1)
        for _ in range(5000):
            h.pread(4096, rng.randrange(size // 4096) * 4096)
PY
instructions() {  # instructions PLUGIN FILE MODE PASSES
  rm -f "$dir"/cg.*
  MODE=$3 PASSES=$4 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p.out" --log-file="$dir/cg.%p.log" \
    nbdkit -f -U - "$1" file="$2" cache-size=0 \
    --run 'nbdsh -u "$uri" -c "exec(open(\"'"$dir"'/reads.py\").read())"' >/dev/null
  cat "$dir"/cg.*.log | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | sort -n | tail -1
}
declare -A INS
INS[new-none]=$(instructions "$HEXZ_PLUGIN" "$dir/dense-new.st" none 0)
INS[old-none]=$(instructions "$old_plugin" "$dir/dense-old.st" none 0)
for mode in seq rand; do
  for passes in 1 2; do
    INS[new-$mode-$passes]=$(instructions "$HEXZ_PLUGIN" "$dir/dense-new.st" $mode $passes)
    INS[old-$mode-$passes]=$(instructions "$old_plugin" "$dir/dense-old.st" $mode $passes)
  done
done
echo "instructions (callgrind) of the server, start-up and no reads: format 2 ${INS[new-none]}, format 1 ${INS[old-none]}"
for mode in seq rand; do
  label=$([ $mode = seq ] && echo "256 MiB sequential" || echo "5,000 random 4K")
  new=$((INS[new-$mode-2] - INS[new-$mode-1])) old=$((INS[old-$mode-2] - INS[old-$mode-1]))
  printf '%-20s loaded:     format 2 %11d, format 1 %11d: format 1 / format 2 = %sx  (target >= 1)\n' \
    "$label" "$new" "$old" "$(echo "scale=4; $old / $new" | bc -l)"
  new=$((INS[new-$mode-1] - INS[new-none])) old=$((INS[old-$mode-1] - INS[old-none]))
  printf '%-20s first pass: format 2 %11d, format 1 %11d: format 1 / format 2 = %sx\n' \
    "$label" "$new" "$old" "$(echo "scale=4; $old / $new" | bc -l)"
done
