#!/usr/bin/env bash
# Random reads at random offsets and lengths (nbdsh) through nbdkit hexz
# equal the raw image, with the default cache, a tiny cache (constant
# eviction) and no cache; many overlapping requests in flight at once
# exercise the single-flight loading of the cache.
source "$srcdir/functions.sh"
requires mkfs.ext4 nbdsh

make_tree "$tmp/tree"
make_ext4 "$tmp/disk.img" 16M "$tmp/tree"
truncate -s $((16 * 1024 * 1024 + 777)) "$tmp/disk.img"
head -c 1500000 /dev/urandom > "$tmp/mem.img"

cat > "$tmp/check.py" <<'PY'
import os, random
seed = int(os.environ.get("SEED", "1"))
rng = random.Random(seed)
for export, path in (("disk", os.environ["IMG"]), ("memory", os.environ["MEM"])):
    h = nbd.NBD()
    h.set_export_name(export)
    h.connect_unix(os.environ["SOCK"])
    data = open(path, "rb").read()
    size = h.get_size()
    assert size == len(data), (export, size, len(data))
    # Synchronous reads: tiny, block-straddling and large.
    for _ in range(150):
        n = rng.choice([1, 7, 512, 4096, 4097, 65536, 65537, 300000, rng.randrange(1, 2000000)])
        n = min(n, size)
        off = rng.randrange(0, size - n + 1)
        got = h.pread(n, off)
        assert got == data[off:off + n], (export, off, n)
    # The last byte and the whole stream.
    assert h.pread(1, size - 1) == data[-1:]
    assert h.pread(size, 0) == data
    # 64 overlapping requests in flight: several miss the same block at once.
    bufs = []
    for _ in range(64):
        n = rng.randrange(1, 70000)
        off = rng.randrange(0, min(size - n, 1 << 20))
        buf = nbd.Buffer(n)
        h.aio_pread(buf, off)
        bufs.append((buf, off, n))
    while h.aio_in_flight() > 0:
        h.poll(-1)
    for buf, off, n in bufs:
        assert buf.to_bytearray() == data[off:off + n], (export, "aio", off, n)
    h.shutdown()
print("ok")
PY

hexz-pack -b 16K --memory "$tmp/mem.img" "$tmp/disk.img" "$tmp/disk.st"
hexz-pack -c lz4 -b 4K --memory "$tmp/mem.img" "$tmp/disk.img" "$tmp/lz4.st"
export IMG="$tmp/disk.img" MEM="$tmp/mem.img" tmp
for args in "" "cache-size=0" "cache-size=64K" "cache-size=1M"; do
  for st in disk lz4; do
    SEED=$RANDOM $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/$st.st" $args \
      --run 'SOCK=$unixsocket nbdsh -c "exec(open(\"$tmp/check.py\").read())"' > "$tmp/out" 2>&1 ||
      fail "$st.st $args: $(cat "$tmp/out")"
    grep -qx ok "$tmp/out" || fail "$st.st $args: $(cat "$tmp/out")"
  done
done
