#!/usr/bin/env bash
# The paged index through the tools and nbdkit hexz: a 2 TiB sparse file
# and a 64 TiB disk (packed over NBD) pack into files that
# cost their data, not their size, and serve byte-exact (spot checks at the
# data, in holes, across the last partial page); a damaged index page fails
# the reads of the blocks it describes with EIO and a message naming the
# file, stream and page, while the rest of the disk keeps serving.
source "$srcdir/functions.sh"
requires nbdsh nbdinfo /usr/bin/python3 truncate
nbdkit cc --version > /dev/null 2>&1 || { echo "$0: SKIP: nbdkit cc plugin not available"; exit 77; }

export tmp
# Writes the test pattern (a few chunks at scattered offsets, one at the very
# end) into the raw file or NBD URI $1 of size $2; check.py reads it back.
cat > "$tmp/pattern.py" <<'PY'
import os, random
def chunks(size):
    rng = random.Random(size)
    out = []
    for k in range(12):
        off = rng.randrange(0, size - (1 << 20)) & ~4095
        out.append((off + rng.randrange(0, 4096), bytes(rng.randrange(256) for _ in range(1000)) * 70))
    out.append((size - 5000, b"the last bytes of the disk " * 185))
    return out
PY
cat > "$tmp/check.py" <<'PY'
import os, sys
sys.path.insert(0, os.environ["tmp"])
from pattern import chunks
size = int(os.environ["SIZE"])
def expect(off, n):  # the bytes the pattern puts at [off, off + n)
    b = bytearray(n)
    for o, d in chunks(size):
        s, e = max(o, off), min(o + len(d), off + n)
        if s < e:
            b[s - off:e - off] = d[s - o:e - o]
    return bytes(b)
h.connect_uri(os.environ["uri"])
assert h.get_size() == size, h.get_size()
for off, data in chunks(size):  # each chunk with some hole around it
    s, e = max(0, off - 4096), min(size, off + len(data) + 4096)
    assert h.pread(e - s, s) == expect(s, e - s), "data at %d" % off
for off in (0, size // 3, size // 2 + 12345, size - (1 << 30) - 7):  # holes
    assert h.pread(65536, off) == expect(off, 65536), "hole at %d" % off
print("ok")
PY

# 2 TiB sparse file.
size=$((2 << 40))
truncate -s $size "$tmp/2t.img"
/usr/bin/python3 - "$tmp/2t.img" $size <<'PY'
import os, sys
sys.path.insert(0, os.environ["tmp"])
from pattern import chunks
with open(sys.argv[1], "r+b") as f:
    for off, data in chunks(int(sys.argv[2])):
        f.seek(off); f.write(data)
PY
hexz-pack "$tmp/2t.img" "$tmp/2t.st"
st_size=$(stat -c %s "$tmp/2t.st")
[ "$st_size" -lt $((2 << 20)) ] || fail "2 TiB sparse disk packed into $st_size bytes"
hexz-info --json --verify "$tmp/2t.st" > "$tmp/2t.json"
/usr/bin/python3 - "$tmp/2t.json" <<'PY' || fail "hexz-info: $(cat "$tmp/2t.json")"
import json, sys
d = json.load(open(sys.argv[1]))["streams"]["disk"]
assert d["index_pages"] == 2048 and d["stored_pages"] <= 13 and d["zero_pages"] == 2048 - d["stored_pages"], d
assert d["damaged_pages"] == 0 and d["index_bytes"] < 64 * 1024, d
PY
SIZE=$size $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/2t.st" --run 'uri="$uri" nbdsh -c "exec(open(\"$tmp/check.py\").read())"' \
  > "$tmp/out" 2>&1 || fail "2 TiB: $(cat "$tmp/out")"
grep -qx ok "$tmp/out" || fail "2 TiB: $(cat "$tmp/out")"
# Block status over the whole disk answers ZERO pages without reading them.
$NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/2t.st" --run 'nbdinfo --map --totals "$uri"' > "$tmp/map" ||
  fail "2 TiB map"
grep -q "hole,zero" "$tmp/map" || fail "2 TiB map: $(cat "$tmp/map")"

# 64 TiB, beyond ext4's file size limit, packed over NBD.  (nbdkit memory
# answers block status by walking its whole address space, 45 s for 64 TiB
# here, so bench/bench-index.sh packs that one; this test serves the same
# size from a tiny nbdkit cc plugin whose windows of data are computed.)
cat > "$tmp/big.c" <<'C'
#include <stdint.h>
#include <string.h>
#define NBDKIT_API_VERSION 2
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
#include <nbdkit-plugin.h>
#define SIZE (64ull << 40)
#define WLEN 200000ull
static const uint64_t win[] = {1234, (5ull << 40) + 409600 + 77, (33ull << 40) + 65536 * 5, SIZE - (1ull << 30) + 999,
                               SIZE - WLEN};
static unsigned char byte_at(uint64_t o) { return (unsigned char)(((o * 2654435761u) >> 7) | 1); }
static void *big_open(int ro) { return NBDKIT_HANDLE_NOT_NEEDED; }
static int64_t big_get_size(void *h) { return (int64_t)SIZE; }
static int big_pread(void *h, void *buf, uint32_t n, uint64_t off, uint32_t f) {
  memset(buf, 0, n);
  for (unsigned k = 0; k < sizeof win / sizeof win[0]; k++)
    for (uint64_t o = win[k] > off ? win[k] : off; o < win[k] + WLEN && o < off + n; o++)
      ((unsigned char *)buf)[o - off] = byte_at(o);
  return 0;
}
static int big_extents(void *h, uint32_t n, uint64_t off, uint32_t f, struct nbdkit_extents *e) {
  uint64_t pos = off, end = off + n;
  for (unsigned k = 0; k < sizeof win / sizeof win[0] && pos < end; k++) {
    uint64_t s = win[k] > pos ? win[k] : pos, t = win[k] + WLEN < end ? win[k] + WLEN : end;
    if (s >= t) continue;
    if (s > pos && nbdkit_add_extent(e, pos, s - pos, NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO) == -1) return -1;
    if (nbdkit_add_extent(e, s, t - s, 0) == -1) return -1;
    pos = t;
  }
  if (pos < end && nbdkit_add_extent(e, pos, end - pos, NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO) == -1) return -1;
  return 0;
}
static struct nbdkit_plugin plugin = {.name = "big", .open = big_open, .get_size = big_get_size,
                                      .pread = big_pread, .extents = big_extents};
NBDKIT_REGISTER_PLUGIN(plugin)
C
cat > "$tmp/check-big.py" <<'PY'
import os
SIZE, WLEN = 64 << 40, 200000
win = [1234, (5 << 40) + 409600 + 77, (33 << 40) + 65536 * 5, SIZE - (1 << 30) + 999, SIZE - WLEN]
def byte_at(o): return (((o * 2654435761) & 0xffffffffffffffff) >> 7 | 1) & 0xff
def expect(off, n):
    b = bytearray(n)
    for w in win:
        for o in range(max(w, off), min(w + WLEN, off + n)):
            b[o - off] = byte_at(o)
    return bytes(b)
h.connect_uri(os.environ["uri"])
assert h.get_size() == SIZE
for w in win:  # each window with some hole around it
    s, e = max(0, w - 70000), min(SIZE, w + WLEN + 70000)
    assert h.pread(e - s, s) == expect(s, e - s), "window at %d" % w
for off in (1 << 40, SIZE // 2 + 12345, SIZE - (2 << 30)):  # holes
    assert h.pread(65536, off) == bytes(65536), "hole at %d" % off
print("ok")
PY
nbdkit -U - cc "$tmp/big.c" --run 'hexz-pack "$uri" "$tmp/64t.st"' > "$tmp/out" 2>&1 ||
  fail "64 TiB pack: $(cat "$tmp/out")"
st_size=$(stat -c %s "$tmp/64t.st")
[ "$st_size" -lt $((3 << 20)) ] || fail "64 TiB sparse disk packed into $st_size bytes"
$NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/64t.st" --run 'uri="$uri" nbdsh -c "exec(open(\"$tmp/check-big.py\").read())"' \
  > "$tmp/out" 2>&1 || fail "64 TiB: $(cat "$tmp/out")"
grep -qx ok "$tmp/out" || fail "64 TiB: $(cat "$tmp/out")"

# A damaged index page: 4 KiB blocks make a page cover 64 MiB; data in
# pages 0, 1 and 2 of a 200 MiB disk, page 1 damaged.
truncate -s 200M "$tmp/small.img"
for mib in 1 70 140; do
  seq 1 300000 | dd of="$tmp/small.img" bs=1M seek=$mib conv=notrunc status=none
done
hexz-pack -b 4K "$tmp/small.img" "$tmp/small.st"
read -r poff plen < <(index_page "$tmp/small.st" 1)
cp "$tmp/small.st" "$tmp/bad.st"
flip "$tmp/bad.st" $((poff + plen / 2)) 0x04
cat > "$tmp/damaged.py" <<'PY'
import os
img = open(os.environ["tmp"] + "/small.img", "rb").read()
h.connect_uri(os.environ["uri"])
M = 1 << 20
for attempt in range(2):  # the failure is not cached
    for off, n in ((70 * M, 4096), (64 * M, 1), (128 * M - 10, 10), (63 * M, 2 * M)):
        try:
            h.pread(n, off)
        except nbd.Error as e:
            assert e.errno == "EIO", e
        else:
            raise AssertionError("read %d+%d inside the damaged page succeeded" % (off, n))
    for off, n in ((M, 2 * M), (0, 32 * M), (32 * M, 32 * M), (140 * M, 4 * M), (128 * M, 32 * M), (168 * M, 32 * M)):
        assert h.pread(n, off) == img[off:off + n], "read %d+%d outside the damaged page" % (off, n)
print("ok")
PY
for args in "" cache-size=0; do
  $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/bad.st" $args --run 'uri="$uri" nbdsh -c "exec(open(\"$tmp/damaged.py\").read())"' \
    > "$tmp/out" 2> "$tmp/err" || fail "damaged page $args: $(cat "$tmp/out" "$tmp/err")"
  grep -qx ok "$tmp/out" || fail "damaged page $args: $(cat "$tmp/out")"
  grep -q "error: $tmp/bad.st: disk stream, index page 1: checksum mismatch (the index page is damaged)" "$tmp/err" ||
    fail "damaged page $args: no error naming the page: $(grep error "$tmp/err")"
done
