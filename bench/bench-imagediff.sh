#!/usr/bin/env bash
# hexz-diff -b BASE MODIFIED OUTPUT against merely reading both images
# (cat A B | wc -c), on a 2 GiB sparse pair (a quarter of it data) and on a
# 2 GiB dense pair (all data).  Target: no slower than cat on the dense pair,
# faster on the sparse one.  Ratios are cat's time / hexz-diff's (> 1: faster).
# hexz-diff reads raw images through nbdkit's file plugin; --direct reads
# them in-process and is timed too.  Also
# -O st (a thin .st of the difference).
source "$(dirname "$0")/bench-lib.sh"
: "${SIZE_MB:=2048}"
dir=$BENCH_DIR/imagediff
mkdir -p "$dir"

# make_pair NAME DATA_PERCENT: NAME-a.img with DATA_PERCENT of its 1 MiB
# stretches filled with random data (the rest holes), and NAME-b.img, a
# copy with 2000 scattered 4 KiB blocks rewritten, 8 MiB of new data in a
# hole and 8 MiB of data zeroed.
make_pair() {
  local a=$dir/$1-a.img b=$dir/$1-b.img pct=$2
  [ -f "$b" ] && return 0
  rm -f "$a"
  truncate -s "${SIZE_MB}M" "$a"
  /usr/bin/python3 - "$a" "$SIZE_MB" "$pct" <<'EOF'
import os, random, sys
path, mb, pct = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
with open(path, 'r+b') as f:
    for m in range(mb):
        if random.randrange(100) < pct:
            f.seek(m << 20)
            f.write(os.urandom(1 << 20))
EOF
  cp --sparse=always "$a" "$b"
  /usr/bin/python3 - "$b" "$SIZE_MB" <<'EOF'
import os, random, sys
path, mb = sys.argv[1], int(sys.argv[2])
random.seed(2)
with open(path, 'r+b') as f:
    for _ in range(2000):
        f.seek(random.randrange(mb * 256) * 4096)
        f.write(os.urandom(4096))
    f.seek((mb // 2) << 20); f.write(os.urandom(8 << 20))
    f.seek((mb // 4) << 20); f.write(bytes(8 << 20))
EOF
}

# median_diff ARGS... OUT: median time of hexz-diff ARGS writing a fresh
# OUT-N each run.  Replacing an existing 2 GiB sparse overlay makes rename()
# free the old one's extents, seconds on a busy disk that are not the
# diff's; the old outputs are removed after timing.
median_diff() {
  local out=${*: -1} t=() n
  for n in $(seq "$RUNS"); do
    rm -f "$out-$n".*
    sync
    t+=("$(time_cmd hexz-diff "${@:1:$#-1}" "$out-$n.${out##*.}")")
  done
  rm -f "$out"-*
  median "${t[@]}"
}

run() {  # NAME PERCENT
  local name=$1 a=$dir/$1-a.img b=$dir/$1-b.img
  make_pair "$name" "$2"
  cat "$a" "$b" > /dev/null  # warm the page cache for every contender alike
  local alloc=$((($(du -B1 "$a" | cut -f1) + $(du -B1 "$b" | cut -f1)) >> 20))
  t_cat=$(median_time sh -c "cat '$a' '$b' | wc -c")
  t_hd=$(median_diff -f -b "$a" "$b" "$dir/out.overlay")
  t_nk=$(median_diff --direct -f -b "$a" "$b" "$dir/out.overlay")
  hexz-diff -f -b "$a" "$b" "$dir/out.overlay" | grep '^Changed'
  printf '%-8s %5s MiB allocated of %5s MiB: cat A B | wc -c %6.2f s   hexz-diff -b %6.2f s (%sx)   --direct %6.2f s (%sx)\n' \
    "$name" "$alloc" $((2 * SIZE_MB)) "$t_cat" "$t_hd" "$(ratio "$t_cat" "$t_hd")" "$t_nk" "$(ratio "$t_cat" "$t_nk")"
}

echo "$(nproc) cores, $RUNS runs each, medians, page cache warm"
run sparse 25
run dense 100

# -O st: the difference as a thin snapshot of a packed BASE.
a=$dir/sparse-a.img b=$dir/sparse-b.img
[ -f "$dir/sparse-a.st" ] || hexz-pack "$a" "$dir/sparse-a.st"
t_st=$(median_diff -f -b "$dir/sparse-a.st" "$b" -O st "$dir/out.st")
t_ov=$(median_diff -f -b "$dir/sparse-a.st" "$b" "$dir/out2.overlay")
hexz-diff -f -b "$dir/sparse-a.st" "$b" -O st "$dir/out.st" > /dev/null
echo "sparse, BASE packed as .st: hexz-diff -O overlay $t_ov s, -O st $t_st s ($(($(stat -c %s "$dir/out.st") >> 10)) KiB thin .st)"
rm -f "$dir"/out*
