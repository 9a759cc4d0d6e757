#!/usr/bin/env bash
# Damage through nbdkit hexz: a flipped byte in a stored block fails reads
# of that block with EIO and an error naming the file, stream and block,
# while other blocks still read correctly; a truncated, garbage, empty or
# missing file makes nbdkit fail at start-up with a clear message.
source "$srcdir/functions.sh"
requires nbdsh /usr/bin/python3

# Block 0 random (stored first, at offset 4096), block 1 all zero, blocks
# 2..7 text (compressible), for 64K blocks.
bs=65536
head -c $bs /dev/urandom > "$tmp/disk.img"
head -c $bs /dev/zero >> "$tmp/disk.img"
seq 1 100000 > "$tmp/seq.txt"
head -c $((6 * bs)) "$tmp/seq.txt" >> "$tmp/disk.img"

cat > "$tmp/check.py" <<'PY'
import os
data = open(os.environ["IMG"], "rb").read()
bs = 65536
h.set_export_name("disk")
h.connect_unix(os.environ["SOCK"])
for attempt in range(2):  # the failure is not cached
    for off, n in ((0, 4096), (bs - 1, 2), (0, bs), (100, 3 * bs)):
        try:
            h.pread(n, off)
        except nbd.Error as e:
            assert e.errno == "EIO", e
        else:
            raise AssertionError("damaged block 0 read without error at %d+%d" % (off, n))
# Other blocks are fine.
assert h.pread(bs, bs) == data[bs:2 * bs]
assert h.pread(6 * bs, 2 * bs) == data[2 * bs:]
assert h.pread(1000, 5 * bs + 17) == data[5 * bs + 17:5 * bs + 1017]
print("ok")
PY

export IMG="$tmp/disk.img" tmp
for method in zstd lz4 none; do
  hexz-pack -f -c $method "$tmp/disk.img" "$tmp/good.st"
  cp "$tmp/good.st" "$tmp/bad.st"
  flip "$tmp/bad.st" $((4096 + 1000)) 0x01
  for args in "" cache-size=0; do
    $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/bad.st" $args \
      --run 'SOCK=$unixsocket nbdsh -c "exec(open(\"$tmp/check.py\").read())"' > "$tmp/out" 2> "$tmp/err" ||
      fail "$method $args: $(cat "$tmp/out" "$tmp/err")"
    grep -qx ok "$tmp/out" || fail "$method $args: $(cat "$tmp/out")"
    grep -q "error: $tmp/bad.st: disk stream, block 0: " "$tmp/err" ||
      fail "$method $args: no error naming the block: $(grep error "$tmp/err")"
  done
done

# Start-up failures: nbdkit exits non-zero naming the file and the problem.
expect_startup_error() {  # expect_startup_error FILE PATTERN
  expect_error 1 "$2" $NBDKIT -U - "$HEXZ_PLUGIN" file="$1" --run true
  grep -q -- "$1" "$tmp/err" || fail "$1: error does not name the file: $(cat "$tmp/err")"
}
size=$(stat -c %s "$tmp/good.st")
damaged_snapshots "$tmp/good.st"
expect_startup_error "$tmp/trunc.st" "truncated"
expect_startup_error "$tmp/short.st" "truncated"
expect_startup_error "$tmp/garbage.st" "not a valid hexz snapshot"
: > "$tmp/empty.st"
expect_startup_error "$tmp/empty.st" "not a valid hexz snapshot"
# A damaged index (the last bytes of the file are the index's end).
cp "$tmp/good.st" "$tmp/index.st"
flip "$tmp/index.st" $((size - 3)) 0x01
expect_startup_error "$tmp/index.st" "checksum"
# (Not under ASan: there nbdkit's exit after this failure deadlocks in
# p11-kit's destructor, in freelocale, outside hexz.)
if [ -z "${HEXZ_ASAN_PRELOAD:-}" ]; then
  expect_startup_error "$tmp/nonexistent.st" "No such file"
fi
