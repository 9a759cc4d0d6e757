# Shared helpers for the benchmarks (source it).  Benchmarks print medians
# of several runs and ratios against reference tools run in the same script;
# they are not tests and assert nothing.

set -euo pipefail
bench_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${BUILD:=$bench_top/build}"
# The build's tools, plugin and filter, as its ./run script sets them.
PATH=$("$BUILD/run" printenv PATH)
export PATH
export HEXZ_PLUGIN=${HEXZ_PLUGIN:-$("$BUILD/run" printenv HEXZ_PLUGIN)}
export HEXZ_COW_FILTER=${HEXZ_COW_FILTER:-$("$BUILD/run" printenv HEXZ_COW_FILTER)}
: "${BENCH_DIR:=${TMPDIR:-/tmp}/hexz-bench}"
: "${RUNS:=3}"
mkdir -p "$BENCH_DIR"

# median N...: the median of its arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# time_cmd CMD...: wall-clock seconds of one run of CMD.  CMD may exit 0
# or 1 (diff's and qemu-img compare's "differences found"); any other exit
# stops the benchmark with CMD's last words, so that a failing run is never
# timed as a fast one.
time_cmd() {
  local s e rc=0
  s=$(date +%s.%N)
  "$@" >/dev/null 2>"$BENCH_DIR/time_cmd.err" || rc=$?
  e=$(date +%s.%N)
  if [ "$rc" -gt 1 ]; then
    echo "bench: '$*' failed (exit $rc):" >&2
    tail -n 5 "$BENCH_DIR/time_cmd.err" >&2
    return 1
  fi
  echo "$e - $s" | bc -l
}

# median_time CMD...: the median of $RUNS runs, with the page cache warm.
median_time() {
  local t=()
  for _ in $(seq "$RUNS"); do t+=("$(time_cmd "$@")"); done
  median "${t[@]}"
}

ratio() { echo "scale=2; $1 / $2" | bc -l; }
mbps() { echo "scale=0; $1 / 1048576 / $2" | bc -l; }

# dense_image IMG: a dense ext4 image (most blocks in use) full of real
# files from this machine, about ${DENSE_MB:-1500} MiB, made once and reused.
dense_image() {
  local img=$1 mb=${DENSE_MB:-1500}
  [ -f "$img" ] && return 0
  local src="$BENCH_DIR/dense-src"
  rm -rf "$src"
  mkdir -p "$src"
  # Copy real files until the tree holds ~90% of the image.
  local budget=$((mb * 9 / 10 * 1024))
  for d in /usr/lib /usr/share /usr/bin /usr/include /usr/libexec; do
    [ "$(du -sk "$src" | cut -f1)" -lt "$budget" ] || break
    tar -C / -cf - --exclude='*/proc/*' "${d#/}" 2>/dev/null | head -c $(((budget - $(du -sk "$src" | cut -f1)) * 1024)) |
      tar -C "$src" -xf - 2>/dev/null || true
  done
  truncate -s "${mb}M" "$img"
  mkfs.ext4 -q -F -d "$src" "$img"
  rm -rf "$src"
}

# --- NBD servers and readers (bench-plugin.sh, bench-index.sh) --------------
# start_server SOCK CMD...: runs CMD (a server listening on SOCK) in the
# background and waits until it answers; stop_servers (call it from an EXIT
# trap) stops every server started so.
bench_pids=()
start_server() {
  local sock=$1
  shift
  rm -f "$sock"
  "$@" &
  bench_pids+=($!)
  for _ in $(seq 100); do
    [ -S "$sock" ] && nbdinfo --size "nbd+unix:///?socket=$sock" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$0: $* did not start" >&2
  exit 1
}
stop_servers() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# seq_read URI SIZE: MB/s of one nbdcopy of the whole export to null:.
seq_read() {
  local t0 t1
  t0=$(date +%s.%N)
  nbdcopy "$1" null:
  t1=$(date +%s.%N)
  echo "$2 $t0 $t1" | awk '{printf "%.1f\n", $1 / ($3 - $2) / 1048576}'
}

# rand_read URI: IOPS of fio random 4 KiB reads at queue depth 16 for
# ${FIO_RUNTIME:-8} seconds.
rand_read() {
  local out
  out=$(mktemp "$BENCH_DIR/fio.XXXXXX.json")
  fio --name=rand4k --ioengine=nbd --uri="$1" --rw=randread --bs=4k --iodepth=16 \
    --runtime="${FIO_RUNTIME:-8}" --time_based --randrepeat=0 --output-format=json --output="$out" >/dev/null
  python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"])' "$out"
  rm -f "$out"
}
