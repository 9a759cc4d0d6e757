#!/usr/bin/env bash
# hexz-commit: a thin commit of a 100-block overlay on a ~2 GiB base against
# a thick commit of the same state (target: thin >= 5x faster), and the thick
# commit's speed against hexz-pack of the equivalent raw image (target: close
# to 1).  Medians of $RUNS runs, page cache warm.  Both commits are checked
# against the raw image once (nbdcopy + cmp).  Not run by make check.
source "$(dirname "$0")/bench-lib.sh"
for c in nbdkit nbdsh nbdcopy hexz-commit hexz-pack; do
  command -v $c > /dev/null || { echo "$0: $c not found (set BUILD to the build tree)" >&2; exit 1; }
done
for f in "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"; do
  [ -f "$f" ] || { echo "$0: $f not found (set BUILD to the build tree)" >&2; exit 1; }
done

export DENSE_MB=${DENSE_MB:-2048}
img=$BENCH_DIR/dense-$DENSE_MB.img
dense_image "$img"
size=$(stat -c %s "$img")
d=$BENCH_DIR/commit
mkdir -p "$d"
base=$d/base.st
[ "$base" -nt "$img" ] || hexz-pack -f -c zstd -l 3 "$img" "$base"

# The session: 100 distinct 64 KiB blocks of the disk rewritten (random
# positions, half random and half compressible bytes), written through the
# hexz-cow filter; the same writes on a raw copy make the reference image.
rm -f "$d"/s.overlay "$d"/s.overlay.meta "$d"/s.overlay.base
cat > "$d/ops.py" << PY
import random
rnd = random.Random(100)
nblocks = $size // 65536
for b in rnd.sample(range(nblocks), 100):
    data = rnd.randbytes(32768) + (b"session %d " % b) * 3000
    h.pwrite(data[:65536], b * 65536)
h.flush()
PY
run_ops() { nbdkit -U - "$@" --run "nbdsh -u \"\$uri\" -c 'exec(open(\"$d/ops.py\").read())'" 2> /dev/null; }
run_ops --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$base" overlay="$d/s.overlay"
cp --sparse=always "$img" "$d/ref.img"
run_ops file "$d/ref.img"
cat "$img" "$base" "$d/ref.img" > /dev/null  # warm the page cache for every contender alike
echo "base: $img, $((size >> 20)) MiB ($(du -B1M "$img" | cut -f1) MiB allocated), $base $(($(stat -c %s "$base") >> 20)) MiB"
echo "overlay: $(($(stat -c %s "$d/s.overlay.meta") / 8)) modified 4 KiB blocks in 100 blocks of 64 KiB; $(nproc) cores, $RUNS runs each"

t_thin=$(median_time hexz-commit -f --thin --base "$base" --overlay "$d/s.overlay" -o "$d/thin.st")
t_thick=$(median_time hexz-commit -f --base "$base" --overlay "$d/s.overlay" -o "$d/thick.st")
t_pack=$(median_time hexz-pack -f -c zstd -l 3 "$d/ref.img" "$d/pack.st")

# Check what was timed.
for st in thin thick; do
  rm -f "$d/$st.img"
  nbdkit -U - -r "$HEXZ_PLUGIN" file="$d/$st.st" --run "nbdcopy \"\$uri\" '$d/$st.img'"
  cmp "$d/ref.img" "$d/$st.img" || { echo "$0: the $st commit differs from the reference" >&2; exit 1; }
  rm -f "$d/$st.img"
done

printf '\n%-40s %9s %10s %10s\n' "" seconds "MB/s" "size MiB"
printf '%-40s %9.2f %10s %10s\n' "hexz-commit --thin (100 blocks)" "$t_thin" "-" $(($(stat -c %s "$d/thin.st") >> 20))
printf '%-40s %9.2f %10s %10s\n' "hexz-commit (thick)" "$t_thick" "$(mbps "$size" "$t_thick")" $(($(stat -c %s "$d/thick.st") >> 20))
printf '%-40s %9.2f %10s %10s\n' "hexz-pack -c zstd -l 3 of the raw image" "$t_pack" "$(mbps "$size" "$t_pack")" $(($(stat -c %s "$d/pack.st") >> 20))
echo
echo "speed  thin commit / thick commit       : $(ratio "$t_thick" "$t_thin")x  (target >= 5)"
echo "speed  thick commit / hexz-pack raw      : $(ratio "$t_pack" "$t_thick")  (target: close to 1)"
rm -f "$d"/thin.st "$d"/thick.st "$d"/pack.st "$d"/ref.img
