# Model-based check of the hexz-cow filter, run inside nbdsh (exec'd) or
# python3 with libnbd.  Random aligned and unaligned writes, zeroes, trims,
# FUA writes, flushes, bursts of parallel writes sharing blocks, reads and
# block status over two windows of the disk (its start and its unaligned
# end), every read checked against an in-memory model of the disk.
#
# Environment: SOCK (Unix socket), BASE (raw image of the base disk),
# SEED, OPS (number of operations), EXPECT (where to write the final model
# image), TOUCHED (where to write the model's set of modified 4 KiB blocks,
# encoded exactly like a .meta file).
import os, random, struct
import nbd

BS = 4096
rng = random.Random(int(os.environ.get("SEED", "1")))
ops = int(os.environ.get("OPS", "3000"))

h = nbd.NBD()
h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
h.connect_unix(os.environ["SOCK"])
model = bytearray(open(os.environ["BASE"], "rb").read())
size = h.get_size()
assert size == len(model), (size, len(model))
touched = set()
win = min(1 << 20, size // 2)
windows = [(0, win), (size - win, size)]


def pick():
    lo, hi = rng.choice(windows)
    if rng.random() < 0.4:  # 4 KiB aligned offset and length
        n = BS * rng.choice([1, 1, 2, 3, 16, rng.randrange(1, 40)])
        off = lo + rng.randrange(0, (hi - lo) // BS) * BS
    else:
        n = rng.choice([1, 7, 511, 512, 4095, 4097, 8191, rng.randrange(1, 70000), rng.randrange(1, 300000)])
        off = rng.randrange(lo, hi)
    n = max(1, min(n, size - off))
    return off, n


def touch(off, n):
    touched.update(range(off // BS, (off + n - 1) // BS + 1))


def check_read(off, n):
    got = h.pread(n, off)
    assert got == model[off:off + n], ("read mismatch", off, n)


def check_status(off, n):
    seen = []

    def cb(meta, o, entries, err):
        if meta != nbd.CONTEXT_BASE_ALLOCATION:
            return 0
        pos = o
        for i in range(0, len(entries), 2):
            length, flags = entries[i], entries[i + 1]
            if flags & nbd.STATE_ZERO:
                end = min(pos + length, off + n)
                assert model[pos:end] == bytes(end - pos), ("extent says zero but is not", pos, end)
            pos += length
        seen.append(pos)
        return 0

    h.block_status(n, off, cb)
    assert seen and seen[-1] > off


for i in range(ops):
    r = rng.random()
    off, n = pick()
    if r < 0.30:
        data = rng.randbytes(n)
        h.pwrite(data, off, nbd.CMD_FLAG_FUA if rng.random() < 0.05 else 0)
        model[off:off + n] = data
        touch(off, n)
    elif r < 0.40:
        h.zero(n, off, nbd.CMD_FLAG_NO_HOLE if rng.random() < 0.3 else 0)
        model[off:off + n] = bytes(n)
        touch(off, n)
    elif r < 0.48:
        # The filter records trims exactly like zeroes (nbdkit-hexz-cow-filter(1)).
        h.trim(n, off)
        model[off:off + n] = bytes(n)
        touch(off, n)
    elif r < 0.52:
        h.flush()
    elif r < 0.58:
        check_status(off, n)
    elif r < 0.63:
        # A burst of writes in flight at once, disjoint but sharing 4 KiB
        # blocks, so that the filter's read-modify-writes race.
        base = rng.randrange(0, size - 16 * BS) if size > 16 * BS else 0
        cuts = sorted(rng.sample(range(base, min(base + 16 * BS, size)), 32))
        bufs = []
        for a, b in zip(cuts[0::2], cuts[1::2]):
            if b <= a:
                continue
            data = rng.randbytes(b - a)
            h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(data)), a)
            model[a:b] = data
            touch(a, b - a)
        while h.aio_in_flight() > 0:
            h.poll(-1)
    else:
        check_read(off, n)

# Everything, in 1 MiB reads.
for off in range(0, size, 1 << 20):
    check_read(off, min(1 << 20, size - off))
h.flush()
h.shutdown()

open(os.environ["EXPECT"], "wb").write(model)
open(os.environ["TOUCHED"], "wb").write(b"".join(struct.pack("<Q", b) for b in sorted(touched)))
print("ok", len(touched), "blocks")
