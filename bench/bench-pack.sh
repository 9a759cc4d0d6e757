#!/usr/bin/env bash
# hexz-pack against qemu-img convert -c -O qcow2 (zstd) and zstd -T0 -3 on a
# dense ext4 image of real files; prints speeds, sizes and ratios.
source "$(dirname "$0")/bench-lib.sh"
img=$BENCH_DIR/dense.img
dense_image "$img"
size=$(stat -c %s "$img")
used=$(du -B1 "$img" | cut -f1)
cat "$img" > /dev/null  # warm the page cache for every contender alike
echo "image: $img, $((size >> 20)) MiB, $((used >> 20)) MiB allocated, $(nproc) cores, $RUNS runs each"

out=$BENCH_DIR/out
t_hz=$(median_time hexz-pack -f -c zstd -l 3 "$img" "$out.st")
s_hz=$(stat -c %s "$out.st")
t_lz=$(median_time hexz-pack -f -c lz4 "$img" "$out-lz4.st")
s_lz=$(stat -c %s "$out-lz4.st")
t_q=$(median_time qemu-img convert -c -O qcow2 -o compression_type=zstd "$img" "$out.qcow2")
s_q=$(stat -c %s "$out.qcow2")
t_z=$(median_time zstd -q -f -T0 -3 "$img" -o "$out.zst")
s_z=$(stat -c %s "$out.zst")

printf '\n%-36s %9s %10s %10s\n' tool seconds "MB/s" "size MiB"
printf '%-36s %9.2f %10s %10s\n' "hexz-pack -c zstd -l 3" "$t_hz" "$(mbps "$size" "$t_hz")" $((s_hz >> 20))
printf '%-36s %9.2f %10s %10s\n' "hexz-pack -c lz4" "$t_lz" "$(mbps "$size" "$t_lz")" $((s_lz >> 20))
printf '%-36s %9.2f %10s %10s\n' "qemu-img convert -c qcow2 zstd" "$t_q" "$(mbps "$size" "$t_q")" $((s_q >> 20))
printf '%-36s %9.2f %10s %10s\n' "zstd -T0 -3" "$t_z" "$(mbps "$size" "$t_z")" $((s_z >> 20))
echo
echo "speed  hexz-pack zstd3 / qemu-img qcow2 zstd : $(ratio "$t_q" "$t_hz")x  (target >= 2)"
echo "size   hexz-pack zstd3 / qemu-img qcow2 zstd : $(ratio "$s_hz" "$s_q")  (target <= 0.95)"
echo "speed  hexz-pack zstd3 / zstd -T0 -3         : $(ratio "$t_z" "$t_hz")x"
echo "size   hexz-pack zstd3 / zstd -T0 -3         : $(ratio "$s_hz" "$s_z")"
echo "lz4    hexz-pack -c lz4 on dense data        : $(mbps "$used" "$t_lz") MB/s of allocated data (target >= 500)"
rm -f "$out".*
